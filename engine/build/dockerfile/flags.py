"""Instruction flags (``--from=``, ``--link``, ``--mount=...``) with BuildKit's rules and messages.

Each instruction declares its flags (string, bool, repeatable string); the
words read before the arguments are checked against them. ``--mount`` values
are CSV fields parsed into ``ast.Mount`` (defaults filled like BuildKit).
"""
from __future__ import annotations

import csv
import posixpath

from engine.build.dockerfile.ast import Mount
from engine.values import parse_size

STRING, BOOL, STRINGS = "string", "bool", "strings"

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING = ("shared", "private", "locked")
NETWORKS = ("default", "none", "host")
SECURITY = ("sandbox", "insecure")
MOUNT_KEYS = ("type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid",
              "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env")


class FlagError(ValueError):
    """A flag the instruction does not take, or a bad value; the message is BuildKit's."""


def parse_flags(words: list[str], spec: dict[str, str]) -> dict[str, object]:
    """``["--from=a", "--link"]`` against ``{"from": STRING, "link": BOOL}`` -> values by name.

    Absent flags are missing from the result; STRINGS flags give lists.
    """
    out: dict[str, object] = {}
    for w in words:
        if w == "--":
            break
        if not w.startswith("--"):
            raise FlagError(f"arg should start with -- : {w}")
        name, has_value, value = w.partition("=")
        key = name[2:]
        kind = spec.get(key)
        if kind is None:
            raise FlagError(f"unknown flag: {name}" + _suggest(key, spec))
        if key in out and kind != STRINGS:
            raise FlagError(f"duplicate flag specified: {name}")
        if kind == BOOL:
            if has_value and value == "":
                raise FlagError(f"missing a value on flag: {name}")
            low = value.lower()
            if low not in ("", "true", "false"):
                raise FlagError(f"expecting boolean value for flag {name}, not: {value}")
            out[key] = low != "false"
        elif not has_value:
            raise FlagError(f"missing a value on flag: {name}")
        elif kind == STRINGS:
            out.setdefault(key, []).append(value)  # type: ignore[union-attr]
        else:
            out[key] = value
    return out


def _suggest(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _parse_bool(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise FlagError(f"invalid value for {key}: {value}")


def ram_in_bytes(value: str) -> int:
    """go-units RAMInBytes: ``64m``, ``1g``, ``512kb`` (binary multiples; engine.values reads it)."""
    return parse_size(value.strip())


def _csv_fields(spec: str) -> list[str]:
    try:
        rows = list(csv.reader([spec], skipinitialspace=False))
    except csv.Error as e:
        raise FlagError(f"failed to parse csv mounts: {e}") from None
    return rows[0] if rows else []


def parse_mount(spec: str) -> Mount:
    """``type=cache,target=/root/.cache,id=pip,sharing=locked`` -> Mount with BuildKit's defaults."""
    fields = _csv_fields(spec)
    m: dict = {"type": "bind"}
    ro_auto = True
    for f in fields:
        key, has_value, value = f.partition("=")
        key = key.lower()
        if not has_value:
            if key in ("readonly", "ro"):
                m["readonly"], ro_auto = True, False
            elif key in ("readwrite", "rw"):
                m["readonly"], ro_auto = False, False
            elif key == "required" and m["type"] in ("secret", "ssh"):
                m["required"] = True
            elif key == "required":
                raise FlagError(f"unexpected key '{key}' for mount type '{m['type']}'")
            else:
                raise FlagError(f"invalid field '{f}' must be a key=value pair")
            continue
        ro_auto = _mount_field(m, key, value, f) and ro_auto
    return _finish_mount(m, ro_auto)


def _mount_field(m: dict, key: str, value: str, field_text: str) -> bool:
    """Store one key=value; returns False when it set read-only-ness explicitly."""
    if key == "type":
        v = value.lower()
        if v not in MOUNT_TYPES:
            raise FlagError(f'unsupported mount type "{value}"' + _suggest(v, MOUNT_TYPES))
        m["type"] = v
    elif key == "from":
        m["from_"] = value
    elif key in ("source", "src"):
        m["source"] = value
    elif key in ("target", "dst", "destination"):
        m["target"] = value
    elif key in ("readonly", "ro"):
        m["readonly"] = _parse_bool(key, value)
        return False
    elif key in ("readwrite", "rw"):
        m["readonly"] = not _parse_bool(key, value)
        return False
    elif key == "required":
        if m["type"] not in ("secret", "ssh"):
            raise FlagError(f"unexpected key '{key}' for mount type '{m['type']}'")
        m["required"] = _parse_bool(key, value)
    elif key == "size":
        if m["type"] != "tmpfs":
            raise FlagError(f"unexpected key '{key}' for mount type '{m['type']}'")
        try:
            m["size"] = ram_in_bytes(value)
        except ValueError:
            raise FlagError(f"invalid value for {key}: {value}") from None
    elif key == "id":
        m["id"] = value
    elif key == "sharing":
        v = value.lower()
        if v not in SHARING:
            raise FlagError(f'unsupported sharing value "{value}"' + _suggest(v, SHARING))
        m["sharing"] = v
    elif key in ("mode", "uid", "gid"):
        m[key] = _uint(key, value, 8 if key == "mode" else 10)
    elif key == "env":
        m["env"] = value
    else:
        raise FlagError(f"unexpected key '{key}' in '{field_text}'" + _suggest(key, MOUNT_KEYS))
    return True


def _uint(key: str, value: str, base: int) -> int:
    try:
        v = int(value, base)
    except ValueError:
        v = -1
    if not 0 <= v < 2 ** 32:
        raise FlagError(f"invalid value {value} for {key}")
    return v


def _finish_mount(m: dict, ro_auto: bool) -> Mount:
    """Cross-field checks and defaults (read-only bind/secret, cache id = target, secret target)."""
    typ = m["type"]
    if typ not in ("secret", "ssh", "cache"):
        for k in ("mode", "uid", "gid"):
            if k in m:
                raise FlagError(f'{k} not allowed for "{typ}" type mounts')
    if ro_auto:
        m["readonly"] = typ not in ("cache", "tmpfs")
    if typ == "secret":
        if m.get("from_"):
            raise FlagError("secret mount should not have a from")
        if "sharing" in m:
            raise FlagError("secret mount should not define sharing")
        if not (m.get("source") or m.get("target") or m.get("id")):
            raise FlagError("invalid secret mount. one of source, target required")
        if m.get("source") and m.get("id"):
            raise FlagError("both source and id can't be set")
        # for secrets "source" names the secret id
        sid = m.pop("source", None) or m.get("id") or posixpath.basename(m.get("target") or "")
        m["id"] = sid
        m.setdefault("target", f"/run/secrets/{posixpath.basename(sid)}")
    if typ == "ssh":
        m.setdefault("id", "default")
        m.setdefault("target", "/run/buildkit/ssh_agent.0")
    if "sharing" in m and typ != "cache":
        raise FlagError(f"invalid cache sharing set for {typ} mount")
    if typ in ("bind", "cache", "tmpfs") and not m.get("target"):
        raise FlagError(f"mount type {typ} requires a target (target=)")
    if typ == "cache":
        m.setdefault("id", m.get("target"))
    return Mount(**m)


def check_network(value: str) -> str:
    if value not in NETWORKS:
        raise FlagError(f'invalid network mode "{value}"')
    return value


def check_security(value: str) -> str:
    if value not in SECURITY:
        raise FlagError(f'security "{value}" is not valid')
    return value
