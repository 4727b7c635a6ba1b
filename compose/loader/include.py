"""``include``: import whole compose files (services, networks, volumes, secrets, configs).

WHY like this: an included file is a project of its own (its own project directory and
``.env``), loaded completely, its relative paths resolved against its own directory,
then its resources are added to the including file; defining the same resource twice
differently is an error rather than a silent merge.
"""
from __future__ import annotations

import os
from typing import Callable

from compose.errors import LoadError
from compose.loader.dotenv import read_env_files


class IncludeCycleError(LoadError):
    pass


# (files, working_dir, environment, included chain) -> loaded dict
LoadIncluded = Callable[[list, str, dict, list], dict]


def _as_list(v) -> list:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def apply_include(doc: dict, working_dir: str, environment: dict, included: list[str],
                  load_included: LoadIncluded) -> None:
    """Load every ``include`` entry of ``doc`` and import its resources into ``doc``."""
    entries = doc.get("include")
    if entries is None:
        return
    if not isinstance(entries, list):
        raise LoadError(f"`include` must be a list, got {entries}")
    for entry in entries:
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict):
            raise LoadError("include entries must be a string or a mapping")
        paths = [str(p) for p in _as_list(entry.get("path"))]
        if not paths:
            raise LoadError("include: path is required")
        project_dir = entry.get("project_directory") or ""
        resolved = []
        rel_wd = working_dir
        for i, p in enumerate(paths):
            p = os.path.expanduser(p) if p.startswith("~") else p
            full = os.path.normpath(p if os.path.isabs(p) else os.path.join(working_dir, p))
            if not os.path.exists(full):
                raise LoadError(f"include: file {full} not found")
            if i == 0:
                if not project_dir:
                    project_dir = os.path.dirname(full)
                elif not os.path.isabs(project_dir):
                    project_dir = os.path.normpath(os.path.join(working_dir, project_dir))
                rel_wd = project_dir
                if full in included:
                    chain = included + [full]
                    raise IncludeCycleError("include cycle detected: " + chain[0] + " include "
                                            + " include ".join(chain[1:]))
            resolved.append(full)
        env_files = [str(f) for f in _as_list(entry.get("env_file"))]
        if not env_files:
            default = os.path.join(project_dir, ".env")
            if os.path.isfile(default):
                env_files = [default]
        else:
            checked = []
            for f in env_files:
                if not os.path.isabs(f):
                    f = os.path.join(working_dir, f)
                    if not os.path.exists(f):
                        raise LoadError(f"include: env file {f} not found")
                    if os.path.isdir(f):
                        raise LoadError(f"{f} is not a file")
                checked.append(f)
            env_files = checked
        env = dict(environment)
        for k, v in read_env_files(env_files, environment).items():
            env.setdefault(k, v)
        imported = load_included(resolved, rel_wd, env, included)
        for key in ("services", "volumes", "networks", "secrets", "configs", "models"):
            src = imported.get(key)
            if not src:
                continue
            target = doc.get(key)
            if not isinstance(target, dict):
                target = {}
            for name, value in src.items():
                if name in target:
                    if target[name] == value:
                        continue
                    raise LoadError(f"{key}.{name} conflicts with imported resource")
                target[name] = value
            doc[key] = target
    doc.pop("include", None)
