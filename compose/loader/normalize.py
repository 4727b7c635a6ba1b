"""Late stages on the merged dict: relative paths made absolute, environment variables
without a value resolved, the default network, implicit dependencies and resource names.

WHY here and not in ``canonical``: these need the whole project (all files merged) and
its environment and working directory; Compose runs them after merging too.
"""
from __future__ import annotations

import os
import posixpath

from compose.errors import LoadError
from compose.loader.keypaths import PathRules, rewrite



def expand_user(p: str) -> str:
    if p.startswith("~"):
        home = os.environ.get("HOME") or os.path.expanduser("~")
        return os.path.normpath(os.path.join(home, p[1:].lstrip("/"))) if p[1:] else home
    return p


def _join(base: str, p: str) -> str:
    return os.path.normpath(os.path.join(base, p))


def _abs_path(v, base):
    if isinstance(v, list):
        return [_abs_path(x, base) for x in v]
    if isinstance(v, str):
        v = expand_user(v)
        if os.path.isabs(v):
            return v
        return _join(base, v) if v else v
    raise LoadError(f"unexpected type {type(v).__name__}")


def _maybe_unix_path(v, base):
    if not isinstance(v, str):
        return v
    v = expand_user(v)
    if not posixpath.isabs(v) and not _is_windows_abs(v):
        return _join(base, v)
    return v


def _is_windows_abs(p: str) -> bool:
    return len(p) >= 3 and p[0].isalpha() and p[1] == ":" and p[2] in "\\/" or p.startswith("\\\\")


_REMOTE_CONTEXT = ("https://", "http://", "git://", "ssh://", "github.com/", "git@")


def _abs_context(v, base):
    if not isinstance(v, str):
        return v
    if "://" in v or v.startswith("service:") or v.startswith(_REMOTE_CONTEXT):
        return v
    return _abs_path(v, base)


def _abs_volume_mount(v, base):
    if not isinstance(v, dict) or v.get("type") != "bind":
        return v
    if "source" not in v:
        raise LoadError('invalid mount config for type "bind": field Source must not be empty')
    v["source"] = _maybe_unix_path(v["source"], base)
    return v


def _volume_driver_opts(v, base):
    if not isinstance(v, dict) or v.get("driver") != "local":
        return v
    opts = v.get("driver_opts")
    if isinstance(opts, dict) and opts.get("o") == "bind" and "device" in opts:
        opts["device"] = _maybe_unix_path(opts["device"], base)
    return v


def _abs_symlink(v, base):
    p = _abs_path(v, base)
    if isinstance(p, str) and os.path.exists(p):
        return os.path.realpath(p)
    return p


_PATH_RULES = PathRules.grouped({
    _abs_context: "services.*.build.context services.*.build.additional_contexts.*",
    _maybe_unix_path: "services.*.build.ssh.* configs.*.file secrets.*.file",
    _abs_path: "services.*.env_file.*.path services.*.label_file.* services.*.extends.file include.path "
               "include.project_directory include.env_file",
    _abs_symlink: "services.*.develop.watch.*.path",
    _abs_volume_mount: "services.*.volumes.*",
    _volume_driver_opts: "volumes.*",
})


def resolve_relative_paths(doc: dict, base: str) -> dict:
    """Relative file paths -> absolute, against ``base`` (the project directory)."""
    return rewrite(doc, _PATH_RULES, lambda fn, v, p: fn(v, base))


def resolve_environment(doc: dict, env: dict[str, str]) -> None:
    """``environment: [VAR]`` entries take the value of VAR from the project environment;
    secrets/configs from ``environment:`` get their content."""
    for svc in (doc.get("services") or {}).values():
        if not isinstance(svc, dict) or not isinstance(svc.get("environment"), list):
            continue
        out = []
        for e in svc["environment"]:
            if not isinstance(e, str):
                continue
            out.append(f"{e}={env[e]}" if e in env else e)
        svc["environment"] = out
    for section, key in (("secrets", "x-#secret-value"), ("configs", "content")):
        for res in (doc.get(section) or {}).values():
            if isinstance(res, dict) and isinstance(res.get("environment"), str):
                if res["environment"] in env:
                    res[key] = env[res["environment"]]


def _resolve_values(v, env, keep_empty):
    if isinstance(v, list):
        out = []
        for e in v:
            r = _resolve_values(e, env, keep_empty)
            if r is not _DROP:
                out.append(r)
        return out
    if isinstance(v, dict):
        out = {}
        for k, e in v.items():
            if e is not None:
                out[k] = e
            elif k in env:
                out[k] = env[k]
            elif keep_empty:
                out[k] = None
        return out
    if isinstance(v, str):
        if "=" not in v:
            if v in env:
                return f"{v}={env[v]}"
            return v if keep_empty else _DROP
        return v
    return _DROP


_DROP = object()
_DEP = {"condition": "service_started", "restart": True, "required": True}


def _normalize_networks(doc: dict) -> None:
    networks = doc.get("networks")
    if not isinstance(networks, dict):
        networks = {}
    uses_default = False
    for svc in (doc.get("services") or {}).values():
        if not isinstance(svc, dict) or "provider" in svc or "network_mode" in svc:
            continue
        nets = svc.get("networks")
        if "networks" not in svc or not nets:
            svc["networks"] = {"default": None}
            uses_default = True
        elif isinstance(nets, dict) and "default" in nets:
            uses_default = True
    if "default" not in networks and uses_default:
        networks["default"] = None
    if networks:
        doc["networks"] = networks


def normalize(doc: dict, env: dict[str, str]) -> dict:
    """Compose's Normalize: default network, build defaults, implicit depends_on
    (links, ``service:`` namespaces, volumes_from), volume targets, resource names."""
    _normalize_networks(doc)
    for svc in (doc.get("services") or {}).values():
        if not isinstance(svc, dict):
            continue
        if svc.get("pull_policy") == "if_not_present":
            svc["pull_policy"] = "missing"
        if "build" in svc and isinstance(svc["build"], dict):
            b = svc["build"]
            if b.get("context") is None:
                b["context"] = "."
            if b.get("dockerfile") is None and b.get("dockerfile_inline") is None:
                b["dockerfile"] = "Dockerfile"
            if "args" in b:
                r = _resolve_values(b["args"], env, False)
                b["args"] = None if r is _DROP else r
        if "environment" in svc:
            r = _resolve_values(svc["environment"], env, True)
            svc["environment"] = None if r is _DROP else r
        deps = svc.get("depends_on")
        deps = deps if isinstance(deps, dict) else {}
        for link in svc.get("links") or []:
            parts = str(link).split(":")
            name = parts[0] if len(parts) == 2 else str(link)
            deps.setdefault(name, dict(_DEP))
        for ns in ("network_mode", "ipc", "pid", "uts", "cgroup"):
            ref = svc.get(ns)
            if isinstance(ref, str) and ref.startswith("service:"):
                deps.setdefault(ref[len("service:"):], dict(_DEP))
        vols = svc.get("volumes")
        if isinstance(vols, list):
            for vol in vols:
                if isinstance(vol, dict) and isinstance(vol.get("target"), str):
                    vol["target"] = clean_path(vol["target"])
        for vf in svc.get("volumes_from") or []:
            vf = str(vf)
            if not vf.startswith("container:"):
                deps.setdefault(vf.split(":")[0], {"condition": "service_started", "restart": False,
                                                   "required": True})
        if deps:
            svc["depends_on"] = deps
    name = doc.get("name")
    for section in ("networks", "volumes", "configs", "secrets"):
        top = doc.get(section)
        if not isinstance(top, dict):
            continue
        for key in list(top):
            res = top[key] if isinstance(top[key], dict) else {}
            if res.get("name") is None:
                ext = res.get("external")
                if ext is True or (isinstance(ext, str) and ext.lower() in ("1", "t", "true")):
                    res["name"] = key
                else:
                    res["name"] = f"{name}_{key}"
            top[key] = res
    return doc


def clean_path(p: str) -> str:
    """Go's path.Clean."""
    if p == "":
        return "."
    out = posixpath.normpath(p)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out
