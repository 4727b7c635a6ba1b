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
from compose.loader.keypaths import PathRules, dotted, rewrite, rewrite_children
from compose.loader.model import go_sprint
from compose.loader.shortsyntax import parse_volume


def _to_sequence(v) -> list:
    if isinstance(v, dict):
        seq = []
        for k, val in v.items():
            if val is None:
                seq.append(k)
            elif isinstance(val, list):
                seq.extend(f"{k}={go_sprint(x)}" for x in val)
            else:
                seq.append(f"{k}={go_sprint(val)}")
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


_SPECIAL_RULES = PathRules.grouped({
    _merge_ipam_config: "networks.*.ipam.config",
    _merge_to_sequence: "networks.*.labels volumes.*.labels services.*.annotations services.*.build.args "
                        "services.*.build.additional_contexts services.*.build.labels services.*.deploy.labels "
                        "services.*.dns services.*.dns_opt services.*.dns_search services.*.env_file "
                        "services.*.label_file services.*.environment services.*.labels "
                        "services.*.volumes.*.volume.labels services.*.sysctls services.*.tmpfs",
    _merge_build: "services.*.build",
    _merge_extra_hosts: "services.*.build.extra_hosts services.*.extra_hosts",
    _override: "services.*.command services.*.entrypoint services.*.healthcheck.test",
    _merge_depends_on: "services.*.depends_on",
    _merge_logging: "services.*.logging",
    _merge_networks: "services.*.models services.*.networks",
    _merge_ulimit: "services.*.ulimits.*",
})


def merge_values(a, b, p: tuple):
    fn = _SPECIAL_RULES.find(p)
    if fn is not None:
        return fn(a, b, p)
    if b is None:
        return a
    if isinstance(a, dict):
        if not isinstance(b, dict):
            raise LoadError(f"cannot override {dotted(p)}")
        return _merge_mappings(a, b, p)
    if isinstance(a, list):
        if not isinstance(b, list):
            raise LoadError(f"cannot override {dotted(p)}")
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
    raise LoadError(f"{dotted(p)}: unexpected type {type(v).__name__}")


def _target_key(what: str, short_target):
    """Identity of a mount-like entry: its ``target`` (long form) or what ``short_target`` reads
    from its short form."""
    def key(v, p):
        if isinstance(v, dict):
            t = v.get("target")
            if not isinstance(t, str):
                raise LoadError(f"service {what} {dotted(p)} is missing a mount target")
            return t
        return short_target(v) if isinstance(v, str) else ""

    return key


def _device_target(spec: str) -> str:
    arr = spec.split(":")
    return arr[0] if len(arr) == 1 else arr[1]


_volume_key = _target_key("volume", lambda spec: parse_volume(spec).get("target", ""))
_device_key = _target_key("device", _device_target)


def _expose_key(v, p):
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return str(v)
    raise LoadError(f"{dotted(p)}: unsupported expose value {v}")


def _mount_key(default):
    def key(v, p):
        if isinstance(v, str):
            return f"{default}/{v}"
        if isinstance(v, dict):
            if "target" in v:
                return str(v["target"])
            return f"{default}/{v.get('source')}"
        raise LoadError(f"{dotted(p)}: unsupported expose value {v}")

    return key


def _port_key(v, p):
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        if "target" not in v:
            raise LoadError(f"service ports {dotted(p)} is missing a target port")
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
        raise LoadError(f"environment path attribute {dotted(p)} is missing")
    return ""


_UNIQUE_RULES = PathRules.grouped({
    _kv_key: "networks.*.labels networks.*.ipam.options services.*.annotations services.*.build.args "
             "services.*.build.additional_contexts services.*.build.platform services.*.build.tags "
             "services.*.build.labels services.*.cap_add services.*.cap_drop services.*.deploy.labels "
             "services.*.dns services.*.dns_opt services.*.dns_search services.*.environment services.*.labels "
             "services.*.links services.*.networks.*.aliases services.*.networks.*.link_local_ips "
             "services.*.profiles services.*.sysctls services.*.tmpfs",
    _mount_key(""): "services.*.configs",
    _env_file_key: "services.*.env_file",
    _expose_key: "services.*.expose",
    _port_key: "services.*.ports",
    _mount_key("/run/secrets"): "services.*.secrets",
    _volume_key: "services.*.volumes",
    _device_key: "services.*.devices",
})


def _unique(key_of, value, p: tuple):
    """The sequence at ``p`` with one entry per ``key_of`` identity (last wins, first position)."""
    if not isinstance(value, list):
        return rewrite_children(value, _UNIQUE_RULES, _unique, p, lists=False)
    seq: list = []
    keys: dict[str, int] = {}
    for i, entry in enumerate(value):
        key = key_of(entry, p + (f"[{i}]",))
        if key in keys:
            seq[keys[key]] = entry
        else:
            keys[key] = len(seq)
            seq.append(entry)
    return seq


def enforce_unicity(value, p: tuple = ()):
    """One entry per identity in the keyed sequences (last wins, first position)."""
    return rewrite(value, _UNIQUE_RULES, _unique, p, lists=False)
