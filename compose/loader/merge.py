"""Merging compose documents (several ``-f`` files, ``extends``) with the compose-spec rules.

WHY these rules: a later file overrides an earlier one key by key; mappings merge,
most sequences append, but some keys are replaced (``command``, ``entrypoint``,
``healthcheck.test``), some are merged by their own identity (``environment`` and
``labels`` by variable name, ``ports`` by binding, ``volumes`` by target, ...). Compose
first appends, then ``enforce_unicity`` keeps one entry per identity (the last one wins,
at the position of the first).
"""
from __future__ import annotations

from compose.errors import LoadError
from compose.loader.shortsyntax import parse_volume


def _go_str(v) -> str:
    """fmt.Sprint of a YAML scalar."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "<nil>"
    if isinstance(v, float):
        from compose.loader.model import go_float

        return go_float(v)
    return str(v)


def _to_sequence(v) -> list:
    if isinstance(v, dict):
        seq = []
        for k, val in v.items():
            if val is None:
                seq.append(k)
            elif isinstance(val, list):
                seq.extend(f"{k}={_go_str(x)}" for x in val)
            else:
                seq.append(f"{k}={_go_str(val)}")
        seq.sort()
        return seq
    if isinstance(v, list):
        return v
    if isinstance(v, str):
        return [v]
    return []


def _to_mapping(v, default):
    if isinstance(v, dict):
        return v
    if isinstance(v, list):
        return {str(s): (dict(default) if default is not None else None) for s in v}
    return None


def _merge_to_sequence(a, b, p):
    return _to_sequence(a) + _to_sequence(b)


def _override(a, b, p):
    return b


def _merge_extra_hosts(a, b, p):
    right = _to_sequence(a)
    left = [x for x in _to_sequence(b) if x not in right]
    return right + left


def _merge_logging(a, b, p):
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b
    if "driver" not in a or "driver" not in b or a["driver"] == b["driver"]:
        return _merge_mappings(a, b, p)
    return b


def _merge_build(a, b, p):
    def to_build(v):
        if isinstance(v, str):
            return {"context": v}
        return v if isinstance(v, dict) else {}

    return _merge_mappings(to_build(a), to_build(b), p)


_DEP_DEFAULT = {"condition": "service_started", "required": True}


def _merge_depends_on(a, b, p):
    return _merge_mappings(_to_mapping(a, _DEP_DEFAULT) or {}, _to_mapping(b, _DEP_DEFAULT) or {}, p)


def _merge_networks(a, b, p):
    return _merge_mappings(_to_mapping(a, None) or {}, _to_mapping(b, None) or {}, p)


def _merge_ulimit(a, b, p):
    return b


def _merge_ipam_config(a, b, p):
    if not isinstance(a, list) or not isinstance(b, list):
        raise LoadError(f"{'.'.join(map(str, p))}: unexpected type")
    out: list = []
    for original in a:
        right = _to_mapping(original, None) or {}
        for ov in b:
            left = _to_mapping(ov, None) or {}
            if left.get("subnet") != right.get("subnet"):
                if not any(x.get("subnet") == left.get("subnet") for x in out):
                    out.append(left)
                    continue
            merged = _merge_mappings(right, left, p)
            idx = next((i for i, x in enumerate(out) if x.get("subnet") == merged.get("subnet")), -1)
            if idx >= 0:
                out[idx] = merged
            else:
                out.append(merged)
    return out


_S = ("services", "*")
SPECIALS = {
    ("networks", "*", "ipam", "config"): _merge_ipam_config,
    ("networks", "*", "labels"): _merge_to_sequence,
    ("volumes", "*", "labels"): _merge_to_sequence,
    _S + ("annotations",): _merge_to_sequence,
    _S + ("build",): _merge_build,
    _S + ("build", "args"): _merge_to_sequence,
    _S + ("build", "additional_contexts"): _merge_to_sequence,
    _S + ("build", "extra_hosts"): _merge_extra_hosts,
    _S + ("build", "labels"): _merge_to_sequence,
    _S + ("command",): _override,
    _S + ("depends_on",): _merge_depends_on,
    _S + ("deploy", "labels"): _merge_to_sequence,
    _S + ("dns",): _merge_to_sequence,
    _S + ("dns_opt",): _merge_to_sequence,
    _S + ("dns_search",): _merge_to_sequence,
    _S + ("entrypoint",): _override,
    _S + ("env_file",): _merge_to_sequence,
    _S + ("label_file",): _merge_to_sequence,
    _S + ("environment",): _merge_to_sequence,
    _S + ("extra_hosts",): _merge_extra_hosts,
    _S + ("healthcheck", "test"): _override,
    _S + ("labels",): _merge_to_sequence,
    _S + ("volumes", "*", "volume", "labels"): _merge_to_sequence,
    _S + ("logging",): _merge_logging,
    _S + ("models",): _merge_networks,
    _S + ("networks",): _merge_networks,
    _S + ("sysctls",): _merge_to_sequence,
    _S + ("tmpfs",): _merge_to_sequence,
    _S + ("ulimits", "*"): _merge_ulimit,
}
_BY_LEN: dict[int, list] = {}
for _p, _f in SPECIALS.items():
    _BY_LEN.setdefault(len(_p), []).append((_p, _f))


def _special(path: tuple):
    for pat, fn in _BY_LEN.get(len(path), ()):
        for a, b in zip(path, pat):
            if b != "*" and a != b:
                break
        else:
            return fn
    return None


def _dotted(p):
    return ".".join(map(str, p))


def merge_values(a, b, p: tuple):
    fn = _special(p)
    if fn is not None:
        return fn(a, b, p)
    if b is None:
        return a
    if isinstance(a, dict):
        if not isinstance(b, dict):
            raise LoadError(f"cannot override {_dotted(p)}")
        return _merge_mappings(a, b, p)
    if isinstance(a, list):
        if not isinstance(b, list):
            raise LoadError(f"cannot override {_dotted(p)}")
        return a + b
    return b


def _merge_mappings(a: dict, b: dict, p: tuple) -> dict:
    for k, v in b.items():
        if k not in a:
            a[k] = v
            continue
        a[k] = merge_values(a[k], v, p + (k,))
    return a


def merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into ``base`` (in place, returned)."""
    return _merge_mappings(base, override, ())


def extend_service(base: dict, service: dict) -> dict:
    """``extends``: the service's own keys merged over its base's."""
    return merge_values(base, service, ("services", "x"))


# ----------------------------------------------------------------- unicity


def _kv_key(v, p):
    if isinstance(v, str):
        return v.split("=", 1)[0]
    raise LoadError(f"{_dotted(p)}: unexpected type {type(v).__name__}")


def _volume_key(v, p):
    if isinstance(v, dict):
        t = v.get("target")
        if not isinstance(t, str):
            raise LoadError(f"service volume {_dotted(p)} is missing a mount target")
        return t
    if isinstance(v, str):
        return parse_volume(v).get("target", "")
    return ""


def _device_key(v, p):
    if isinstance(v, dict):
        t = v.get("target")
        if not isinstance(t, str):
            raise LoadError(f"service device {_dotted(p)} is missing a mount target")
        return t
    if isinstance(v, str):
        arr = v.split(":")
        return arr[0] if len(arr) == 1 else arr[1]
    return ""


def _expose_key(v, p):
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return str(v)
    raise LoadError(f"{_dotted(p)}: unsupported expose value {v}")


def _mount_key(default):
    def key(v, p):
        if isinstance(v, str):
            return f"{default}/{v}"
        if isinstance(v, dict):
            if "target" in v:
                return str(v["target"])
            return f"{default}/{v.get('source')}"
        raise LoadError(f"{_dotted(p)}: unsupported expose value {v}")

    return key


def _port_key(v, p):
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        if "target" not in v:
            raise LoadError(f"service ports {_dotted(p)} is missing a target port")
        return repr((v.get("host_ip", "0.0.0.0"), v.get("published"), v["target"], v.get("protocol", "tcp")))
    if isinstance(v, str):
        return v
    return ""


def _env_file_key(v, p):
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        if "path" in v:
            return str(v["path"])
        raise LoadError(f"environment path attribute {_dotted(p)} is missing")
    return ""


UNIQUE = {
    ("networks", "*", "labels"): _kv_key,
    ("networks", "*", "ipam", "options"): _kv_key,
    _S + ("annotations",): _kv_key,
    _S + ("build", "args"): _kv_key,
    _S + ("build", "additional_contexts"): _kv_key,
    _S + ("build", "platform"): _kv_key,
    _S + ("build", "tags"): _kv_key,
    _S + ("build", "labels"): _kv_key,
    _S + ("cap_add",): _kv_key,
    _S + ("cap_drop",): _kv_key,
    _S + ("configs",): _mount_key(""),
    _S + ("deploy", "labels"): _kv_key,
    _S + ("dns",): _kv_key,
    _S + ("dns_opt",): _kv_key,
    _S + ("dns_search",): _kv_key,
    _S + ("environment",): _kv_key,
    _S + ("env_file",): _env_file_key,
    _S + ("expose",): _expose_key,
    _S + ("labels",): _kv_key,
    _S + ("links",): _kv_key,
    _S + ("networks", "*", "aliases"): _kv_key,
    _S + ("networks", "*", "link_local_ips"): _kv_key,
    _S + ("ports",): _port_key,
    _S + ("profiles",): _kv_key,
    _S + ("secrets",): _mount_key("/run/secrets"),
    _S + ("sysctls",): _kv_key,
    _S + ("tmpfs",): _kv_key,
    _S + ("volumes",): _volume_key,
    _S + ("devices",): _device_key,
}
_U_BY_LEN: dict[int, list] = {}
for _p, _f in UNIQUE.items():
    _U_BY_LEN.setdefault(len(_p), []).append((_p, _f))


def _unique_fn(path):
    for pat, fn in _U_BY_LEN.get(len(path), ()):
        for a, b in zip(path, pat):
            if b != "*" and a != b:
                break
        else:
            return fn
    return None


def enforce_unicity(value, p: tuple = ()):
    """One entry per identity in the keyed sequences (last wins, first position)."""
    if isinstance(value, dict):
        for k in list(value):
            value[k] = enforce_unicity(value[k], p + (k,))
        return value
    if isinstance(value, list):
        fn = _unique_fn(p)
        if fn is None:
            return value
        seq: list = []
        keys: dict[str, int] = {}
        for i, entry in enumerate(value):
            key = fn(entry, p + (f"[{i}]",))
            if key in keys:
                seq[keys[key]] = entry
            else:
                keys[key] = len(seq)
                seq.append(entry)
        return seq
    return value
