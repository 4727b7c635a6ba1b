"""``extends``: a service inherits another service's definition, from the same file or another.

WHY per file and before merging: that is when Compose resolves it, so a base from
another file is read raw (interpolated, its relative paths made absolute against its own
directory), chains are followed, and ``!reset`` in the extending service still applies.
A chain that comes back to a service already on it is an error naming the whole chain.
"""
from __future__ import annotations

import copy
import os
from typing import Callable

from compose.errors import LoadError
from compose.loader.merge import extend_service


class ExtendsCycleError(LoadError):
    pass


# (path of a file) -> its services; supplied by the pipeline so files are read the same way
ReadServices = Callable[[str], "tuple[dict, list[tuple]]"]


def _apply_resets(target: dict, reset_paths: list[tuple]) -> None:
    """Drop keys of ``target`` named by !reset/!override paths (Compose's ResetProcessor.Apply)."""
    if not reset_paths:
        return

    def walk(v, path):
        if isinstance(v, dict):
            for k in list(v):
                p = path + (k,)
                if any(_matches(p, pat) for pat in reset_paths):
                    del v[k]
                    continue
                walk(v[k], p)
        elif isinstance(v, list):
            for i, e in enumerate(v):
                walk(e, path + (i,))

    walk(target, ())


def _matches(path, pattern) -> bool:
    if len(path) != len(pattern):
        return False
    return all(b == "*" or a == b for a, b in zip(path, pattern))


apply_resets = _apply_resets


def apply_extends(doc: dict, filename: str, base_dir: str, read_services: ReadServices,
                  reset_paths: list[tuple] | None = None) -> None:
    """Resolve every ``extends`` of ``doc['services']`` in place."""
    services = doc.get("services")
    if services is None:
        return
    if not isinstance(services, dict):
        raise LoadError("services must be a mapping")
    for name in list(services):
        _extend(name, services, filename, base_dir, read_services, [], reset_paths or [])


def _extend(name, services, filename, base_dir, read_services, chain, resets):
    svc = services.get(name)
    if svc is None:
        return None
    if not isinstance(svc, dict):
        raise LoadError(f"services.{name} must be a mapping")
    ext = svc.get("extends")
    if ext is None:
        return svc
    ref_file = None
    if isinstance(ext, dict):
        ref = ext.get("service")
        if not isinstance(ref, str):
            raise LoadError(f"extends.{name}.service is required")
        ref_file = ext.get("file")
    elif isinstance(ext, str):
        ref = ext
    else:
        raise LoadError(f"services.{name}.extends must be a string or a mapping")
    link = (os.path.abspath(filename) if filename != "-" else filename, name)
    if link in chain:
        steps = [f"{chain[0][1]} in {chain[0][0]}"] + [f"extends {s} in {f}" for f, s in chain[1:] + [link]]
        raise ExtendsCycleError("Circular reference: " + " ".join(steps))
    chain = chain + [link]
    base_services, base_file, base_base_dir, base_resets = services, filename, base_dir, []
    if ref_file is not None:
        if not isinstance(ref_file, str):
            raise LoadError(f"services.{name}.extends.file must be a string")
        path = ref_file if os.path.isabs(ref_file) else os.path.join(base_dir, ref_file)
        path = os.path.normpath(path)
        if not os.path.exists(path):
            raise LoadError(f"cannot extend service {name!r} in {filename}: file {path} not found")
        base_services, base_resets = read_services(path)
        base_file, base_base_dir = path, os.path.dirname(path)
        if ref not in base_services:
            raise LoadError(f"cannot extend service {name!r} in {filename}: service {ref!r} not found in {ref_file}")
    elif ref not in services:
        raise LoadError(f"cannot extend service {name!r} in {filename}: service {ref!r} not found")
    base = _extend(ref, base_services, base_file, base_base_dir, read_services, chain, base_resets)
    if base is None:
        return svc
    source = copy.deepcopy(base)
    wrapped = {"services": {name: source}}
    _apply_resets(wrapped, resets)
    merged = extend_service(wrapped["services"].get(name, {}), svc)
    merged.pop("extends", None)
    services[name] = merged
    return merged
