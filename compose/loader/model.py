"""The final model: the canonical dict typed like compose-go's structs and shaped like the
JSON ``docker compose config --format json`` prints, but carrying numbers.

WHY a typed pass: Compose decodes the merged YAML into Go structs and marshals them
back, so unknown keys and service-level ``x-*`` vanish, numbers and booleans in string
fields are converted, empty values are dropped (``omitempty``) and struct fields come
out in declaration order. The tables in ``gotypes`` drive it; the few types with custom
(un)marshalling are handled here. Sizes are ints (bytes), durations ints (nanoseconds)
and file modes ints, so every consumer takes numbers; only ``compose.loader.output``
prints them back as Compose does (``"536870912"``, ``"1m30s"``, ``"0440"``).
"""
from __future__ import annotations

import math
import re
import shlex

from compose.errors import LoadError
from compose.loader.gotypes import ALIASES, PROJECT_TYPES, STRUCTS
from compose.loader.interpolate import to_bool
from engine.values import parse_duration, parse_size


def go_float(v: float) -> str:
    """fmt.Sprint of a float64 (%v: shortest repr, exponent for big/small)."""
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    r = repr(v)
    if "e" in r:
        mant, exp = r.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mant}e{sign}{digits}"
    return r


_GO_CONSTANTS = {None: "<nil>", True: "true", False: "false"}


def go_sprint(v) -> str:
    """fmt.Sprint of a YAML value (``%v``)."""
    if isinstance(v, list):
        return "[" + " ".join(go_sprint(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_sprint(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, float):
        return go_float(v)
    return _GO_CONSTANTS[v] if v is None or v is True or v is False else str(v)


class DecodeError(LoadError):
    pass


def _where(path) -> str:
    return ".".join(str(p) for p in path)


# ----------------------------------------------------------------- scalars


def _string(v, path):
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if isinstance(v, bool):
        raise DecodeError(f"'{_where(path)}' expected type 'string', got unconvertible type 'bool'")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        raise DecodeError(f"'{_where(path)}' expected type 'string', got unconvertible type 'float64'")
    raise DecodeError(f"'{_where(path)}' expected type 'string', got unconvertible type '{type(v).__name__}'")


def _bool(v, path):
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    if isinstance(v, str):
        try:
            return to_bool(v)
        except ValueError as e:
            raise DecodeError(f"{_where(path)}: {e}") from None
    raise DecodeError(f"'{_where(path)}' expected type 'bool', got unconvertible type '{type(v).__name__}'")


_INT = re.compile(r"[+-]?[0-9]+")


def _int(v, path):
    if isinstance(v, bool):
        raise DecodeError(f"'{_where(path)}' expected type 'int', got unconvertible type 'bool'")
    if isinstance(v, int):
        return v
    if v is None:
        return 0
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        if _INT.fullmatch(v):
            return int(v)
        raise DecodeError(f'{_where(path)}: strconv.ParseInt: parsing "{v}": invalid syntax')
    raise DecodeError(f"'{_where(path)}' expected type 'int', got unconvertible type '{type(v).__name__}'")


def _float(v, path):
    if isinstance(v, bool):
        raise DecodeError(f"'{_where(path)}' expected type 'float32', got unconvertible type 'bool'")
    if isinstance(v, (int, float)):
        return float(v) if not isinstance(v, int) else v
    if v is None:
        return 0
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise DecodeError(f'{_where(path)}: strconv.ParseFloat: parsing "{v}": invalid syntax') from None
    raise DecodeError(f"'{_where(path)}' expected a number")


# ----------------------------------------------------------------- named types


def shell_split(text: str) -> list[str]:
    """mattn/go-shellwords Parse (no env expansion): quotes and backslashes, space-split."""
    lex = shlex.shlex(text, posix=True, punctuation_chars=False)
    lex.whitespace_split = True
    lex.commenters = ""
    try:
        return list(lex)
    except ValueError:
        raise LoadError(f"invalid command line string: {text!r}") from None


def _shell_command(v, path):
    if v is None:
        return None
    if isinstance(v, str):
        return shell_split(v)
    if isinstance(v, list):
        return [_string(x, path) for x in v]
    raise DecodeError(f"{_where(path)}: unexpected type for command")


def _healthcheck_test(v, path):
    if isinstance(v, str):
        return ["CMD-SHELL", v]
    if isinstance(v, list):
        return [_string(x, path) for x in v]
    raise DecodeError(f"unexpected value type {type(v).__name__} for healthcheck.test")


def _pairs(v, missing, bare, check_key=None) -> dict:
    """A mapping or a ``KEY=VALUE`` list -> {key: value}: ``missing`` for a null in a mapping,
    ``bare`` for a list entry without "="; values printed as fmt.Sprint would."""
    if v is None:
        return {}
    if isinstance(v, dict):
        return {k: missing if e is None else (e if isinstance(e, str) else go_sprint(e)) for k, e in v.items()}
    if not isinstance(v, list):
        raise DecodeError(f"unexpected value type {type(v).__name__} for mapping")
    out = {}
    for entry in v:
        k, sep, e = go_sprint(entry).partition("=")
        if check_key is not None:
            check_key(k)
        out[k] = e if sep else bare
    return out


def _no_trailing_space(key: str) -> None:
    if key and key[-1].isspace():
        raise LoadError(f"environment variable {key} is declared with a trailing space")


def _mapping_with_equals(v, path):
    return _pairs(v, None, None, _no_trailing_space)


def _mapping(v, path):
    return _pairs(v, "", "")


def _labels(v, path):
    if v is not None and not isinstance(v, (dict, list)):
        raise DecodeError(f"unexpected value type {type(v).__name__} for labels")
    return _mapping(v, path)


def _options(v, path):
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise DecodeError(f"invalid type {type(v).__name__} for options")
    return {k: "" if e is None else (e if isinstance(e, str) else go_sprint(e)) for k, e in v.items()}


def _multi_options(v, path):
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise DecodeError(f"invalid type {type(v).__name__} for options")
    out = {}
    for k, e in v.items():
        out[k] = [go_sprint(x) for x in e] if isinstance(e, list) else [go_sprint(e)]
    return out


def _string_list(v, path):
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        for e in v:
            if not isinstance(e, str):
                raise DecodeError(f"invalid type {type(v).__name__} for string list")
        return list(v)
    if v is None:
        return []
    raise DecodeError(f"invalid type {type(v).__name__} for string list")


def _string_or_number_list(v, path):
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [e if isinstance(e, str) else go_sprint(e) for e in v]
    if v is None:
        return []
    raise DecodeError(f"invalid type {type(v).__name__} for string list")


def _hosts_list(v, path):
    hosts: dict[str, list[str]] = {}
    if isinstance(v, dict):
        for host, e in v.items():
            if e is None:
                e = ""
            if isinstance(e, str):
                hosts[host] = [e]
            elif isinstance(e, list):
                hosts[host] = [go_sprint(x) for x in e]
            else:
                raise DecodeError(f"unexpected value type {type(v).__name__} for extra_hosts entry")
    elif isinstance(v, list):
        for s in v:
            s = go_sprint(s)
            for sep in ("=", ":"):
                if sep in s:
                    host, ip = s.split(sep, 1)
                    hosts.setdefault(host, []).extend(ip.split(","))
                    break
            else:
                raise LoadError(f"invalid additional host, missing IP: {s}")
    elif v is None:
        return []
    else:
        raise DecodeError(f"unexpected value type {type(v).__name__} for extra_hosts")
    for host, ips in hosts.items():
        if not host or ":" in host or "=" in host:
            raise LoadError(f"bad host name '{host}'")
        hosts[host] = [ip[1:-1] if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]" else ip for ip in ips]
    return sorted(f"{h}={ip}" for h, ips in hosts.items() for ip in ips)


def _unit_bytes(v, path):
    if v is None:
        return 0
    if isinstance(v, bool):
        return 0
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        try:
            return parse_size(v)
        except ValueError as e:
            raise DecodeError(f"{_where(path)}: {e}") from None
    return 0


def _duration(v, path):
    try:
        return parse_duration(go_sprint(v), extended=True)
    except ValueError as e:
        raise DecodeError(f"{_where(path)}: {e}") from None


def _nano_cpus(v, path):
    if isinstance(v, bool) or v is None:
        raise DecodeError(f"unexpected value type for cpus")
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise DecodeError(f'strconv.ParseFloat: parsing "{v}": invalid syntax') from None
    raise DecodeError("unexpected value type for cpus")


def _device_count(v, path):
    if isinstance(v, bool):
        raise DecodeError(f"invalid type bool for device count")
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        count = -1 if v.lower() == "all" else int(v) if _INT.fullmatch(v) else None
        if count is None:
            raise DecodeError(f"invalid value {v!r}, the only value allowed is 'all' or a number")
        return count
    raise DecodeError(f"invalid type {type(v).__name__} for device count")


def _file_mode(v, path):
    if isinstance(v, str):
        try:
            return int(v, 8)
        except ValueError:
            raise DecodeError(f'strconv.ParseInt: parsing "{v}": invalid syntax') from None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise DecodeError(f"unexpected value type {type(v).__name__} for mode")


class _Ulimit:
    __slots__ = ("value",)


def _ulimit(v, path):
    if isinstance(v, bool):
        raise DecodeError("unexpected value type bool for ulimit")
    if isinstance(v, int):
        return v if v != 0 else {}
    if isinstance(v, dict):
        out = {}
        soft = _int(v.get("soft"), path) if "soft" in v else 0
        hard = _int(v.get("hard"), path) if "hard" in v else 0
        if soft:
            out["soft"] = soft
        if hard:
            out["hard"] = hard
        return out
    raise DecodeError(f"unexpected value type {type(v).__name__} for ulimit")


def _env_file(v, path):
    if isinstance(v, str):
        return v
    if not isinstance(v, dict):
        raise DecodeError("unexpected value type for env_file")
    p = _string(v.get("path"), path)
    req = _bool(v.get("required", False), path)
    fmt_ = _string(v.get("format"), path)
    if req and not fmt_:
        return p
    out = {}
    if p:
        out["path"] = p
    out["required"] = req
    if fmt_:
        out["format"] = fmt_
    return out


def _ssh(v, path):
    if not isinstance(v, dict):
        raise DecodeError(f"invalid ssh config type {type(v).__name__}")
    return [k if e is None else f"{k}={go_sprint(e)}" for k, e in v.items()]


SPECIAL = {
    "string": _string, "WatchAction": _string, "bool": _bool, "External": _bool,
    "int": _int, "int64": _int, "uint16": _int, "uint32": _int, "uint64": _int,
    "float32": _float, "float64": _float,
    "ShellCommand": _shell_command, "HealthCheckTest": _healthcheck_test,
    "MappingWithEquals": _mapping_with_equals, "Mapping": _mapping, "Labels": _labels,
    "Options": _options, "MultiOptions": _multi_options, "map[string]string": _options,
    "StringList": _string_list, "StringOrNumberList": _string_or_number_list,
    "HostsList": _hosts_list, "UnitBytes": _unit_bytes, "Duration": _duration,
    "NanoCPUs": _nano_cpus, "DeviceCount": _device_count, "FileMode": _file_mode,
    "UlimitsConfig": _ulimit, "EnvFile": _env_file, "SSHConfig": _ssh,
    "any": lambda v, p: v, "interface{}": lambda v, p: v,
}

def _is_empty(value, gotype: str) -> bool:
    """encoding/json omitempty: false, 0, "", nil pointer/map/slice, empty map/slice."""
    if gotype.startswith("*"):
        return value is None
    t = ALIASES.get(gotype, gotype)
    if t in STRUCTS:
        return False  # struct values are never empty for encoding/json
    if value is None:
        return True
    if isinstance(value, (list, dict, str)):
        return len(value) == 0
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    return False


def decode(value, gotype: str, path: tuple = (), ext: bool = False):
    """Decode a YAML value into the printed form of Go type ``gotype``. With ``ext``,
    structs keep their ``x-*`` keys (YAML prints them inline, JSON drops them)."""
    if gotype.startswith("*"):
        if value is None:
            return None
        return decode(value, gotype[1:], path, ext)
    gotype = ALIASES.get(gotype, gotype)
    if gotype.startswith("[]"):
        if value is None:
            return None
        inner = gotype[2:]
        if not isinstance(value, list):
            raise DecodeError(f"'{_where(path)}': source data must be an array or slice, got {type(value).__name__}")
        return [decode(e, inner, path + (i,), ext) for i, e in enumerate(value)]
    if gotype.startswith("map[string]") and gotype != "map[string]string":
        if value is None:
            return None
        inner = gotype[len("map[string]"):]
        if not isinstance(value, dict):
            raise DecodeError(f"'{_where(path)}' expected a map, got '{type(value).__name__}'")
        return {k: decode(value[k], inner, path + (k,), ext) for k in sorted(value)}
    fn = SPECIAL.get(gotype)
    if fn is not None:
        out = fn(value, path)
        if isinstance(out, dict) and gotype not in ("UlimitsConfig", "EnvFile"):  # Go maps: sorted keys
            return {k: out[k] for k in sorted(out)}
        return out
    fields = STRUCTS.get(gotype)
    if fields is None:
        return value
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise DecodeError(f"'{_where(path)}' expected a map, got '{type(value).__name__}'")
    out = {}
    for ykey, jkey, ftype, jomit, _yomit in fields:
        if jkey is None or ykey is None:
            continue
        raw = value.get(ykey)
        present = ykey in value
        if not present or raw is None:
            if ftype.startswith("*"):
                if not jomit:
                    out[jkey] = None
                continue
            t = ALIASES.get(ftype, ftype)
            if t in STRUCTS:
                out[jkey] = decode({}, t, path + (ykey,), ext)
                continue
            if jomit:
                continue
            out[jkey] = _zero(ftype)
            continue
        v = decode(raw, ftype, path + (ykey,), ext)
        if jomit and _is_empty(v, ftype):
            continue
        out[jkey] = v
    if ext:
        for k in value:
            if isinstance(k, str) and k.startswith("x-") and not k.startswith("x-#"):
                out[k] = value[k]
    return out


def reorder_struct(d: dict, gotype: str) -> dict:
    """Keys of a decoded struct back in field order (after a later stage added one)."""
    order = {jkey: i for i, (_y, jkey, _t, _o, _yo) in enumerate(STRUCTS[gotype]) if jkey}
    items = sorted(d.items(), key=lambda kv: order.get(kv[0], len(order)))
    d.clear()
    d.update(items)
    return d


def strip_extensions(value, gotype: str):
    """The JSON form of a model decoded with ``ext=True``: struct-level ``x-*`` removed."""
    t = ALIASES.get(gotype.lstrip("*"), gotype.lstrip("*"))
    if t.startswith("[]") and isinstance(value, list):
        return [strip_extensions(x, t[2:]) for x in value]
    if t.startswith("map[string]") and isinstance(value, dict):
        inner = t[len("map[string]"):]
        return {k: strip_extensions(v, inner) for k, v in value.items()}
    fields = STRUCTS.get(t)
    if fields is None or not isinstance(value, dict):
        return value
    types = {jkey: ftype for _y, jkey, ftype, _o, _yo in fields if jkey}
    return {k: strip_extensions(v, types[k]) for k, v in value.items() if k in types}


def strip_model_extensions(model: dict) -> dict:
    out = {}
    for k, v in model.items():
        if k == "models":
            continue
        if k.startswith("x-"):
            out[k] = _nil_empty_lists(v)
            continue
        t = PROJECT_TYPES.get(k)
        out[k] = strip_extensions(v, t) if t else v
    return out


def _zero(gotype: str):
    t = ALIASES.get(gotype, gotype)
    if t in ("bool", "External"):
        return False
    if t in ("int", "int64", "uint16", "uint32", "uint64", "float32", "float64", "DeviceCount", "NanoCPUs",
             "UnitBytes", "Duration"):
        return 0
    if t == "string" or t == "WatchAction":
        return ""
    return None


# ----------------------------------------------------------------- project


def _nil_empty_lists(v):
    """Extensions stay untyped, so Compose's nil slices print as null there."""
    if isinstance(v, list):
        return [_nil_empty_lists(x) for x in v] or None
    if isinstance(v, dict):
        return {k: _nil_empty_lists(v[k]) for k in sorted(v)}
    return v


_TOP = (("networks", "NetworkConfig"), ("volumes", "VolumeConfig"),
        ("secrets", "FileObjectConfig"), ("configs", "FileObjectConfig"))


def project_json(model: dict, ext: bool = False) -> dict:
    """The canonical dict (after normalisation) -> what ``config --format json`` prints
    (with ``ext``: plus the struct-level ``x-*`` keys YAML output shows)."""
    out: dict = {"name": model.get("name", "")}
    services = model.get("services") or {}
    out_services = {}
    for name in sorted(services):
        svc = services[name] if isinstance(services[name], dict) else {}
        out_services[name] = decode(svc, "ServiceConfig", ("services", name), ext)
    out["services"] = out_services
    for key, gotype in _TOP:
        section = model.get(key)
        if not section:
            continue
        res = {}
        for name in sorted(section):
            d = decode(section[name] or {}, gotype, (key, name), ext)
            if key == "secrets":
                d.pop("content", None)
            elif key == "configs" and d.get("environment"):
                d.pop("content", None)
            res[name] = d
        out[key] = res
    if ext and model.get("models"):
        # top-level models print in YAML only (Compose's Project.MarshalJSON leaves them out)
        out["models"] = {n: decode(model["models"][n] or {}, "ModelConfig", ("models", n), ext)
                         for n in sorted(model["models"])}
    for k in sorted(model):
        if k.startswith("x-"):
            out[k] = model[k]
    return {k: out[k] for k in sorted(out)}
