"""Print a model as Docker Compose prints it: Go's encoding/json and go-yaml v3 styles.

WHY not json.dumps/yaml.dump as is: users diff ``config`` output against Docker
Compose's. Go escapes ``<``, ``>`` and ``&`` in JSON and prints integral floats without
``.0``; go-yaml v3 indents block sequences under their key, double-quotes strings that
would read back as another type and writes multi-line strings as literal blocks. The
model carries sizes, durations and file modes as numbers; ``go_texts`` is the one place
they become Compose's strings.
"""
from __future__ import annotations

import json
import math
import re

from compose.loader.gotypes import map_project
from engine.values import format_duration

# how compose-go marshals the model's numbers: sizes as quoted byte counts, durations as
# time.Duration.String(), file modes as octal with a leading 0
_GO_TEXTS = {"UnitBytes": str, "Duration": format_duration, "FileMode": lambda mode: "0" + format(mode, "o")}


def go_texts(model: dict) -> dict:
    """The typed model as Compose prints it: its sizes, durations and file modes as Go's strings."""
    return map_project(model, _GO_TEXTS)


def _plain_numbers(obj):
    if isinstance(obj, float):
        if math.isfinite(obj) and obj == int(obj) and abs(obj) < 1e21:
            return int(obj)
        return obj
    if isinstance(obj, dict):
        return {k: _plain_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain_numbers(v) for v in obj]
    return obj


def to_json(obj) -> str:
    text = json.dumps(_plain_numbers(obj), indent=2, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# ----------------------------------------------------------------- YAML

_NEEDS_QUOTE_START = set("-?:,[]{}#&*!|>'\"%@`")
_RESOLVES = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)"
    r"(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|<<|=)$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d?-\d\d?(?:[Tt ].*)?$")
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _resolves_to_other_type(s: str) -> bool:
    return s == "" or bool(_RESOLVES.match(s) or _TIMESTAMP.match(s) or _BASE60.match(s))


def _needs_quotes(s: str) -> bool:
    if s == "":
        return True
    if s.startswith(("---", "...")):
        return True
    if s[0] in "-?:":
        if len(s) == 1 or s[1] in " \t":
            return True
    elif s[0] in _NEEDS_QUOTE_START or s[0].isspace():
        return True
    if s[-1].isspace():
        return True
    if ": " in s or " #" in s or s.endswith(":") or "\t" in s:
        return True
    if any(ord(c) < 0x20 or c in "\x7f\ufeff" for c in s):
        return True
    return False


def _dq(s: str) -> str:
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or c == "\x7f":
            out.append(f"\\x{ord(c):02X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


_YAML_CONSTANTS = {None: "null", True: "true", False: "false"}


def _scalar(v) -> str:
    """A scalar as go-yaml writes it (quoted when it would read back as another type)."""
    if v is None or v is True or v is False:
        return _YAML_CONSTANTS[v]
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    s = str(v)
    if _resolves_to_other_type(s):
        return _dq(s)  # go-yaml asks for double quotes itself
    if _needs_quotes(s):
        # libyaml falls back from plain to single quotes when it can, else double quotes
        if any(ord(c) < 0x20 or c in "\x7f\ufeff\u2028\u2029\x85" for c in s):
            return _dq(s)
        return "'" + s.replace("'", "''") + "'"
    return s


def _block(s: str, indent: str) -> str | None:
    """Literal block for multi-line strings, with libyaml's indentation and chomping hints."""
    if "\n" not in s or any(ord(c) < 0x20 and c not in "\n\t" for c in s):
        return None
    if s.endswith((" ", "\t")) or " \n" in s or "\t\n" in s:
        return None  # libyaml refuses block style around trailing spaces
    header = "|"
    if s[0] in " \n":
        header += "2"
    if not s.endswith("\n"):
        header += "-"
    elif len(s) == 1 or s[-2] == "\n":
        header += "+"
    lines = s.split("\n")
    if s.endswith("\n"):
        lines = lines[:-1]
    return header + "".join("\n" + (indent + line if line else "") for line in lines)


def _emit(v, indent: int, out: list[str], key_prefix: str) -> None:
    if isinstance(v, (dict, list)) and v:
        if key_prefix:
            out.append(key_prefix)
        if isinstance(v, dict):
            pad = " " * indent
            for k, val in v.items():
                _emit_value(val, indent, out, f"{pad}{_scalar(str(k))}:")
        else:
            for item in v:
                _emit_item(item, indent, out)
        return
    text = "{}" if isinstance(v, dict) else "[]" if isinstance(v, list) else _scalar(v)
    out.append(f"{key_prefix} {text}" if key_prefix else text)


def _emit_value(val, indent: int, out: list[str], kp: str) -> None:
    if isinstance(val, dict) and val:
        out.append(kp)
        _emit(val, indent + 2, out, "")
    elif isinstance(val, list) and val:
        out.append(kp)
        for item in val:
            _emit_item(item, indent + 2, out)
    elif isinstance(val, str):
        blk = _block(val, " " * (indent + 2))
        out.append(f"{kp} {blk}" if blk else f"{kp} {_scalar(val)}")
    else:
        _emit(val, indent, out, kp)


def _emit_item(item, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(item, dict) and item:
        first = True
        for k, val in item.items():
            prefix = f"{pad}- " if first else f"{pad}  "
            _emit_value(val, indent + 2, out, f"{prefix}{_scalar(str(k))}:")
            first = False
    elif isinstance(item, list) and item:
        sub: list[str] = []
        for x in item:
            _emit_item(x, indent + 2, sub)
        sub[0] = f"{pad}- " + sub[0].lstrip()
        out.extend(sub)
    elif isinstance(item, str):
        blk = _block(item, " " * (indent + 2))
        out.append(f"{pad}- {blk}" if blk else f"{pad}- {_scalar(item)}")
    else:
        out.append(f"{pad}- " + ("{}" if item == {} else "[]" if item == [] else _scalar(item)))


def to_yaml(obj) -> str:
    out: list[str] = []
    _emit(obj, 0, out, "")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------- YAML key order

# Compose prints YAML with the project's fields first (name, services, networks, volumes,
# secrets, configs) and each struct's fields in declaration order.
_PROJECT_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs", "models")


def _is_zero(v) -> bool:
    if isinstance(v, dict):
        return all(_is_zero(x) for x in v.values())
    return v in (None, "", 0, False, "0", "0s") or v == []


def natural_key(key: str):
    """go-yaml v3 sorts map keys with numbers compared by value (k2 < k10)."""
    import re as _re

    parts = _re.split(r"(\d+)", key)
    return [(0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts]


def _sorted_natural(v):
    if isinstance(v, dict):
        return {k: _sorted_natural(v[k]) for k in sorted(v, key=natural_key)}
    if isinstance(v, list):
        return [_sorted_natural(x) for x in v]
    return v


def yaml_model(model: dict) -> dict:
    """JSON-shaped model -> YAML-shaped (Go struct order, no null command/entrypoint)."""
    from compose.loader.gotypes import STRUCTS

    def reorder(value, gotype):
        from compose.loader.gotypes import ALIASES

        if gotype is None:
            return value
        t = ALIASES.get(gotype.lstrip("*"), gotype.lstrip("*"))
        if t.startswith("[]") and isinstance(value, list):
            return [reorder(x, t[2:]) for x in value]
        if t.startswith("map[string]") and isinstance(value, dict):
            inner = t[len("map[string]"):]
            return {k: reorder(value[k], inner) for k in sorted(value, key=natural_key)}
        fields = STRUCTS.get(t)
        if fields is None or not isinstance(value, dict):
            return _sorted_natural(value)
        out = {}
        for ykey, jkey, ftype, _jo, yomit in fields:
            if jkey in value:
                v = value[jkey]
                if v is None and ftype in ("ShellCommand",):
                    continue
                ft = ALIASES.get(ftype, ftype)
                if yomit and ft in STRUCTS and _is_zero(v):
                    continue  # go-yaml omits zero struct values, encoding/json does not
                out[ykey or jkey] = reorder(v, ftype)
        for k in sorted((k for k in value if k.startswith("x-")), key=natural_key):
            out[k] = _sorted_natural(value[k])  # inline extensions, printed in YAML only
        return out

    out = {}
    for key in _PROJECT_ORDER:
        if key not in model:
            continue
        if key == "services":
            out[key] = {n: reorder(s, "ServiceConfig") for n, s in model[key].items()}
        elif key in ("networks", "volumes"):
            t = "NetworkConfig" if key == "networks" else "VolumeConfig"
            out[key] = {n: reorder(s, t) for n, s in model[key].items()}
        elif key in ("secrets", "configs"):
            out[key] = {n: reorder(s, "FileObjectConfig") for n, s in model[key].items()}
        else:
            out[key] = model[key]
    for k in sorted(model, key=natural_key):
        if k not in out:
            out[k] = _sorted_natural(model[k])
    return out
