"""``env_file`` and ``label_file`` contents read into a service's environment and labels.

WHY its own stage: Compose resolves them after profiles are applied (a disabled service's
missing env file is no error), and ``config --no-env-resolution`` skips it.
"""
from __future__ import annotations

import os

from compose.errors import LoadError
from compose.loader.dotenv import parse as parse_dotenv


def resolve_env_files(svc: dict, env: dict, discard: bool) -> None:
    """Compose's WithServicesEnvironmentResolved: env_file contents into environment."""
    environment = svc.get("environment") or {}
    for k, v in list(environment.items()):
        if v is None and k in env:
            environment[k] = env[k]
    from_files: dict[str, str] = {}
    for ef in svc.get("env_file") or []:
        if isinstance(ef, str):
            path, required, fmt = ef, True, ""
        else:
            path, required, fmt = ef.get("path", ""), ef.get("required", False), ef.get("format", "")
        if not os.path.exists(path):
            if required:
                raise LoadError(f"env file {path} not found: stat {path}: no such file or directory")
            continue
        if fmt and fmt != "raw":
            raise LoadError(f"unsupported env_file format {fmt!r}")
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
        if fmt == "raw":
            _parse_raw_env(text, path, env, from_files)
            continue

        def lookup(k, _svc_env=environment):
            if k in env:
                return env[k]
            v = _svc_env.get(k)
            return v

        parse_dotenv(text, lookup, from_files, filename=path)
    if from_files or environment:
        merged = dict(from_files)
        merged.update(environment)
        svc["environment"] = {k: merged[k] for k in sorted(merged)}
    if discard:
        svc.pop("env_file", None)


def _parse_raw_env(text: str, path: str, env: dict, out: dict) -> None:
    """``format: raw``: docker run --env-file's KEY=VALUE lines, values taken verbatim."""
    if text.startswith("\ufeff"):
        text = text[1:]
    for n, line in enumerate(text.splitlines(), 1):
        line = line.lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.lstrip(" \t")
        if any(c in key for c in " \t\n\v\f\r"):
            raise LoadError(f"failed to parse env_file {path}: variable '{key}' contains whitespaces")
        if sep:
            out[key] = value
        elif key in env:
            out[key] = env[key]


def resolve_label_files(svc: dict) -> None:
    files = svc.get("label_file")
    if not files:
        return
    labels: dict[str, str] = {}
    for f in files:
        if not os.path.exists(f):
            raise LoadError(f"label file {f} not found: stat {f}: no such file or directory")
        with open(f, "rb") as fh:
            parse_dotenv(fh.read().decode("utf-8", errors="replace"), lambda k: labels.get(k), labels, filename=f)
    labels.update(svc.get("labels") or {})
    if labels:
        svc["labels"] = {k: labels[k] for k in sorted(labels)}
    svc.pop("label_file", None)
