"""Canonical form: every short syntax rewritten to its long form, then Compose's defaults.

WHY at the dict level: Compose does it here too (compose-go ``transform``), per file after
merging, so that later files and ``extends`` merge long forms with long forms. Each rule
is keyed by a path pattern (``*`` = any key or list item) and owns its subtree.
"""
from __future__ import annotations

from compose.errors import LoadError
from compose.loader.shortsyntax import parse_device, parse_port, parse_volume


def _err(path: tuple, msg: str) -> LoadError:
    return LoadError(f"{'.'.join(str(p) for p in path)}: {msg}")


def _type(v) -> str:
    return {str: "string", int: "int", float: "float64", bool: "bool", list: "[]interface {}",
            dict: "map[string]interface {}"}.get(type(v), type(v).__name__)


def _string_or_list(v, p, lenient):
    return [v] if isinstance(v, str) else v


def _service(v, p, lenient):
    if isinstance(v, dict):
        return _mapping(v, p, lenient)
    return v


def _slice_to_map(v, p, lenient):
    if isinstance(v, list):
        return {str(x): None for x in v}
    return v


def _build(v, p, lenient):
    if isinstance(v, dict):
        return _mapping(v, p, lenient)
    if isinstance(v, str):
        return {"context": v}
    raise _err(p, f"invalid type {_type(v)} for build")


def _depends_on(v, p, lenient):
    if isinstance(v, dict):
        for name, d in v.items():
            if not isinstance(d, dict):
                raise _err(p + (name,), f"unsupported value {v}")
            d.setdefault("condition", "service_started")
            d.setdefault("required", True)
        return v
    if isinstance(v, list):
        return {str(k): {"condition": "service_started", "required": True} for k in v}
    raise _err(p, f"invalid type {_type(v)} for depend_on")


def _device(v, p, lenient):
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        try:
            return parse_device(v)
        except LoadError:
            if lenient:
                return v
            raise
    raise _err(p, f"invalid type {_type(v)} for service volume mount")


def _env_file_value(v):
    if isinstance(v, str):
        return {"path": v, "required": True}
    if isinstance(v, dict):
        v.setdefault("required", True)
        return v
    return None


def _env_file(v, p, lenient):
    if isinstance(v, str):
        return [_env_file_value(v)]
    if isinstance(v, list):
        return [_env_file_value(x) for x in v]
    raise _err(p, f"invalid type {_type(v)} for env_file")


def _extends(v, p, lenient):
    if isinstance(v, dict):
        return _mapping(v, p, lenient)
    if isinstance(v, str):
        return {"service": v}
    raise _err(p, f"invalid type {_type(v)} for extends")


def _maybe_external(v, p, lenient):
    if v is None:
        return None
    if not isinstance(v, dict):
        return v
    res = _mapping(v, p, lenient)
    if "external" in res:
        ext = res["external"]
        if isinstance(ext, dict):
            res["external"] = True
            if "name" in ext:
                from compose.loader import warn as _warn

                _warn(f"{'.'.join(map(str, p))}: external.name is deprecated. Please set name and external: true")
                if "name" in res and ext["name"] != res["name"]:
                    raise _err(p, "name and external.name conflict; only use name")
                if "name" not in res:
                    res["name"] = ext["name"]
    return res


def _gpus(v, p, lenient):
    if isinstance(v, list):
        return _sequence(v, p, lenient)
    if isinstance(v, str):
        return [{"count": "all"}]
    raise _err(p, f"invalid type {_type(v)} for gpus")


def _include(v, p, lenient):
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        return {"path": v}
    raise _err(p, f"invalid type {_type(v)} for external")


def _key_value(v, p, lenient):
    if isinstance(v, dict):
        return v
    if isinstance(v, list):
        out = {}
        for e in v:
            k, sep, val = str(e).partition("=")
            if not sep:
                if lenient:
                    return v
                raise _err(p, f"invalid value {e}, expected key=value")
            out[k] = val
        return out
    raise _err(p, f"invalid type {_type(v)}")


def _ports(v, p, lenient):
    if not isinstance(v, list):
        raise _err(p, f"invalid type {_type(v)} for port")
    out = []
    for e in v:
        if isinstance(e, bool):
            raise _err(p, f"invalid type {_type(e)} for port")
        if isinstance(e, int):
            out.extend(parse_port(str(e)))
        elif isinstance(e, str):
            try:
                out.extend(parse_port(e))
            except LoadError:
                if lenient:
                    return v
                raise
        elif isinstance(e, dict):
            out.append(e)
        else:
            raise _err(p, f"invalid type {_type(e)} for port")
    return out


def _file_mount(v, p, lenient):
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        return {"source": v}
    raise _err(p, f"unsupported type {_type(v)}")


def _ssh(v, p, lenient):
    if isinstance(v, dict):
        return v
    if isinstance(v, list):
        out = {}
        for e in v:
            if not isinstance(e, str):
                raise LoadError(f"invalid ssh key type {_type(e)}")
            k, sep, path = e.partition("=")
            if not sep:
                if k != "default":
                    raise LoadError(f"invalid ssh key {e!r}")
                out[k] = None
                continue
            out[k] = path
        return out
    raise _err(p, f"invalid type {_type(v)} for ssh")


def _ulimits(v, p, lenient):
    if isinstance(v, (dict, int)) and not isinstance(v, bool):
        return v
    raise _err(p, f"invalid type {_type(v)} for external")


def _volume_mount(v, p, lenient):
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        try:
            return parse_volume(v)
        except LoadError:
            if lenient:
                return v
            raise
    raise _err(p, f"invalid type {_type(v)} for service volume mount")


def _string_or_x(v, p, lenient):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


_S = ("services", "*")
TRANSFORMERS = {
    _S: _service,
    _S + ("build", "secrets", "*"): _file_mount,
    _S + ("build", "provenance"): _string_or_x,
    _S + ("build", "sbom"): _string_or_x,
    _S + ("build", "additional_contexts"): _key_value,
    _S + ("depends_on",): _depends_on,
    _S + ("env_file",): _env_file,
    _S + ("label_file",): _string_or_list,
    _S + ("extends",): _extends,
    _S + ("gpus",): _gpus,
    _S + ("networks",): _slice_to_map,
    _S + ("models",): _slice_to_map,
    _S + ("volumes", "*"): _volume_mount,
    _S + ("dns",): _string_or_list,
    _S + ("devices", "*"): _device,
    _S + ("secrets", "*"): _file_mount,
    _S + ("configs", "*"): _file_mount,
    _S + ("ports",): _ports,
    _S + ("build",): _build,
    _S + ("build", "ssh"): _ssh,
    _S + ("ulimits", "*"): _ulimits,
    _S + ("build", "ulimits", "*"): _ulimits,
    _S + ("develop", "watch", "*", "ignore"): _string_or_list,
    _S + ("develop", "watch", "*", "include"): _string_or_list,
    ("volumes", "*"): _maybe_external,
    ("networks", "*"): _maybe_external,
    ("secrets", "*"): _maybe_external,
    ("configs", "*"): _maybe_external,
    ("include", "*"): _include,
}


def _index(rules: dict) -> dict[int, list]:
    out: dict[int, list] = {}
    for pat, fn in rules.items():
        out.setdefault(len(pat), []).append((pat, fn))
    return out


def _match(index, path):
    for pat, fn in index.get(len(path), ()):
        for a, b in zip(path, pat):
            if b != "*" and a != b:
                break
        else:
            return fn
    return None


_TINDEX = _index(TRANSFORMERS)


def _transform(v, p, lenient):
    fn = _match(_TINDEX, p)
    if fn is not None:
        return fn(v, p, lenient)
    if isinstance(v, dict):
        return _mapping(v, p, lenient)
    if isinstance(v, list):
        return _sequence(v, p, lenient)
    return v


def _mapping(v: dict, p, lenient):
    for k in list(v):
        v[k] = _transform(v[k], p + (k,), lenient)
    return v


def _sequence(v: list, p, lenient):
    for i, e in enumerate(v):
        v[i] = _transform(e, p + ("[]",), lenient)
    return v


def canonical(doc: dict, lenient: bool = False) -> dict:
    """Short syntaxes -> long syntaxes, in place. ``lenient`` (no interpolation) keeps
    values it cannot parse, since they may still hold ``${VAR}``."""
    return _transform(doc, (), lenient)


# ----------------------------------------------------------------- omit empty


def omit_empty(doc: dict) -> dict:
    """Compose rebuilds every sequence here (an empty one becomes a Go nil slice, which
    only shows in untyped ``x-*`` extensions) and drops null/"" entries of ``services.*.dns``."""

    def walk(v, path):
        if isinstance(v, dict):
            for k in v:
                v[k] = walk(v[k], path + (k,))
            return v
        if isinstance(v, list):
            drop = len(path) == 3 and path[0] == "services" and path[2] == "dns"
            return [walk(e, path + ("[]",)) for e in v if not (drop and (e is None or e == ""))]
        return v

    return walk(doc, ())


# ----------------------------------------------------------------- defaults


def _default_build(v, p):
    if isinstance(v, dict):
        v.setdefault("context", ".")
    return v


def _default_secret(v, p):
    if isinstance(v, dict):
        if "target" not in v:
            v["target"] = f"/run/secrets/{v.get('source')}"
        return v
    raise _err(p, f"unsupported type {_type(v)}")


def _default_port(v, p):
    if isinstance(v, dict):
        v.setdefault("protocol", "tcp")
        v.setdefault("mode", "ingress")
    return v


def _default_device(v, p):
    if not isinstance(v, dict):
        raise _err(p, f"invalid type {_type(v)} for device request")
    if "count" not in v and "device_ids" not in v:
        v["count"] = "all"
    return v


DEFAULTS = {
    _S + ("build",): _default_build,
    _S + ("secrets", "*"): _default_secret,
    _S + ("ports", "*"): _default_port,
    _S + ("deploy", "resources", "reservations", "devices", "*"): _default_device,
    _S + ("gpus", "*"): _default_device,
}
_DINDEX = _index(DEFAULTS)


def set_defaults(doc: dict) -> dict:
    def walk(v, p):
        fn = _match(_DINDEX, p)
        if fn is not None:
            return fn(v, p)
        if isinstance(v, dict):
            for k in list(v):
                v[k] = walk(v[k], p + (k,))
        elif isinstance(v, list):
            for i, e in enumerate(v):
                v[i] = walk(e, p + ("[]",))
        return v

    return walk(doc, ())
