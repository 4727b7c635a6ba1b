"""Canonical form: every short syntax rewritten to its long form, then Compose's defaults.

WHY at the dict level: Compose does it here too (compose-go ``transform``), per file after
merging, so that later files and ``extends`` merge long forms with long forms. Each rule
is keyed by a path pattern (``*`` = any key or list item) and owns its subtree.
"""
from __future__ import annotations

from compose.errors import LoadError
from compose.loader.keypaths import PathRules, dotted, rewrite, rewrite_children
from compose.loader.shortsyntax import parse_device, parse_port, parse_volume


def _err(path: tuple, msg: str) -> LoadError:
    return LoadError(f"{dotted(path)}: {msg}")


def _type(v) -> str:
    return {str: "string", int: "int", float: "float64", bool: "bool", list: "[]interface {}",
            dict: "map[string]interface {}"}.get(type(v), type(v).__name__)


def _string_or_list(v, p, lenient):
    return [v] if isinstance(v, str) else v


def _service(v, p, lenient):
    if isinstance(v, dict):
        return _descend(v, p, lenient)
    return v


def _slice_to_map(v, p, lenient):
    if isinstance(v, list):
        return {str(x): None for x in v}
    return v


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


def _parsed_string(parse, what: str):
    """A rule for a mapping that has a short string form read by ``parse`` (lenient: kept as is when
    it does not parse, since it may still hold ``${VAR}``)."""
    def rule(v, p, lenient):
        if isinstance(v, dict):
            return v
        if isinstance(v, str):
            try:
                return parse(v)
            except LoadError:
                if lenient:
                    return v
                raise
        raise _err(p, f"invalid type {_type(v)} for {what}")

    return rule


def _string_as(key: str, error: str, descend: bool = False):
    """A rule for a mapping whose short form is a string standing for its ``key`` (``build: .``)."""
    def rule(v, p, lenient):
        if isinstance(v, dict):
            return _descend(v, p, lenient) if descend else v
        if isinstance(v, str):
            return {key: v}
        raise _err(p, error.format(_type(v)))

    return rule


_device = _parsed_string(parse_device, "service volume mount")
_volume_mount = _parsed_string(parse_volume, "service volume mount")
_build = _string_as("context", "invalid type {} for build", descend=True)
_extends = _string_as("service", "invalid type {} for extends", descend=True)
_include = _string_as("path", "invalid type {} for external")
_file_mount = _string_as("source", "unsupported type {}")


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


def _maybe_external(v, p, lenient):
    if v is None:
        return None
    if not isinstance(v, dict):
        return v
    res = _descend(v, p, lenient)
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
        return _descend(v, p, lenient)
    if isinstance(v, str):
        return [{"count": "all"}]
    raise _err(p, f"invalid type {_type(v)} for gpus")


def _key_value(v, p, lenient):
    if isinstance(v, dict):
        return v
    if not isinstance(v, list):
        raise _err(p, f"invalid type {_type(v)}")
    pairs = [str(e).partition("=") for e in v]
    bare = next((k for k, sep, _ in pairs if not sep), None)
    if bare is None:
        return {k: val for k, _, val in pairs}
    if lenient:
        return v
    raise _err(p, f"invalid value {bare}, expected key=value")


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


def _ssh(v, p, lenient):
    if isinstance(v, dict):
        return v
    if not isinstance(v, list):
        raise _err(p, f"invalid type {_type(v)} for ssh")
    out = {}
    for e in v:
        if not isinstance(e, str):
            raise LoadError(f"invalid ssh key type {_type(e)}")
        k, sep, path = e.partition("=")
        if not sep and k != "default":
            raise LoadError(f"invalid ssh key {e!r}")
        out[k] = path if sep else None
    return out


def _ulimits(v, p, lenient):
    if isinstance(v, (dict, int)) and not isinstance(v, bool):
        return v
    raise _err(p, f"invalid type {_type(v)} for external")


def _string_or_x(v, p, lenient):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


_TRANSFORM_RULES = PathRules.grouped({
    _service: "services.*",
    _file_mount: "services.*.build.secrets.* services.*.secrets.* services.*.configs.*",
    _string_or_x: "services.*.build.provenance services.*.build.sbom",
    _key_value: "services.*.build.additional_contexts",
    _depends_on: "services.*.depends_on",
    _env_file: "services.*.env_file",
    _string_or_list: "services.*.label_file services.*.dns services.*.develop.watch.*.ignore "
                     "services.*.develop.watch.*.include",
    _extends: "services.*.extends",
    _gpus: "services.*.gpus",
    _slice_to_map: "services.*.networks services.*.models",
    _volume_mount: "services.*.volumes.*",
    _device: "services.*.devices.*",
    _ports: "services.*.ports",
    _build: "services.*.build",
    _ssh: "services.*.build.ssh",
    _ulimits: "services.*.ulimits.* services.*.build.ulimits.*",
    _maybe_external: "volumes.* networks.* secrets.* configs.*",
    _include: "include.*",
})
# (rule, value, path) -> value, for strict and lenient runs
_APPLY = {lenient: (lambda fn, v, p, _l=lenient: fn(v, p, _l)) for lenient in (False, True)}


def _descend(v, p, lenient):
    """The children of ``v`` in canonical form (a rule that keeps walking below its own key)."""
    return rewrite_children(v, _TRANSFORM_RULES, _APPLY[lenient], p)


def canonical(doc: dict, lenient: bool = False) -> dict:
    """Short syntaxes -> long syntaxes, in place. ``lenient`` (no interpolation) keeps
    values it cannot parse, since they may still hold ``${VAR}``."""
    return rewrite(doc, _TRANSFORM_RULES, _APPLY[lenient])


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


_DEFAULT_RULES = PathRules.grouped({
    _default_build: "services.*.build",
    _default_secret: "services.*.secrets.*",
    _default_port: "services.*.ports.*",
    _default_device: "services.*.deploy.resources.reservations.devices.* services.*.gpus.*",
})


def set_defaults(doc: dict) -> dict:
    """Compose's defaults (build context ".", secret targets, port protocol and mode, device counts)."""
    return rewrite(doc, _DEFAULT_RULES, lambda fn, v, p: fn(v, p))
