"""Parsers for the short syntaxes of ``ports``, ``volumes`` and ``devices``.

WHY separate: these are the three string mini-languages of a compose file; Compose
expands them exactly like Docker's CLI (``-p``/``-v``), incl. ranges, IPv6 host IPs and
Windows drive letters, and the canonical form must list the same entries in the same order.
"""
from __future__ import annotations

import ipaddress
import posixpath

from compose.errors import LoadError


class PortError(LoadError):
    pass


def _valid_ip(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
        return True
    except ValueError:
        return False


def _port_range(spec: str) -> tuple[int, int]:
    if spec == "":
        raise ValueError("empty string specified for ports")

    def one(s: str) -> int:
        if not s.isdigit() or not s.isascii():
            raise ValueError(s)
        v = int(s)
        if v > 65535:
            raise ValueError(s)
        return v

    if "-" not in spec:
        v = one(spec)
        return v, v
    a, b = spec.split("-", 1)
    start, end = one(a), one(b)
    if end < start:
        raise ValueError(spec)
    return start, end


def parse_port(raw: str) -> list[dict]:
    """One short port spec -> list of long-syntax dicts, in Compose's order."""
    parts = raw.split(":")
    n = len(parts)
    container = parts[-1]
    if n == 1:
        ip, host = "", ""
    elif n == 2:
        ip, host = "", parts[0]
    elif n == 3:
        ip, host = parts[0], parts[1]
    else:
        ip, host = ":".join(parts[: n - 2]), parts[n - 2]
    proto_parts = container.split("/")
    if not container or not proto_parts[0]:
        proto, container = "", ""
    elif len(proto_parts) == 1:
        proto = "tcp"
    elif not proto_parts[1]:
        proto, container = "tcp", proto_parts[0]
    else:
        proto, container = proto_parts[1], proto_parts[0]
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise PortError(f"invalid IP address {ip}")
        ip = ip[1:-1]
    if ip and not _valid_ip(ip):
        raise PortError(f"invalid IP address: {ip}")
    if not container:
        raise PortError(f"no port specified: {raw}<empty>")
    try:
        start, end = _port_range(container)
    except ValueError:
        raise PortError(f"invalid containerPort: {container}") from None
    hstart = hend = 0
    if host:
        try:
            hstart, hend = _port_range(host)
        except ValueError:
            raise PortError(f"invalid hostPort: {host}") from None
        if end - start != hend - hstart and end != start:
            raise PortError(f"invalid ranges specified for container and host Ports: {container} and {host}")
    if proto.lower() not in ("tcp", "udp", "sctp"):
        raise PortError(f"invalid proto: {proto}")
    proto = proto.lower()
    entries: dict[str, dict] = {}
    for i in range(end - start + 1):
        published = host
        if host:
            published = str(hstart + i)
        if start == end and hstart != hend:
            published = f"{published}-{hend}"
        target = start + i
        entry = {"mode": "ingress", "target": target, "protocol": proto}
        if ip:
            entry["host_ip"] = ip
        if published:
            entry["published"] = published
        entries.setdefault(f"{target}/{proto}", entry)
    return [entries[k] for k in sorted(entries)]


# ----------------------------------------------------------------- volumes


def _is_drive(buf: str, char: str) -> bool:
    return char == ":" and len(buf) == 1 and buf.isalpha()


def is_file_path(source: str) -> bool:
    if not source:
        return False
    if source[0] in "./~":
        return True
    if source.startswith("\\\\"):
        return True
    return len(source) > 1 and _is_drive(source[0], source[1])


_PROPAGATIONS = {"rprivate", "private", "rshared", "shared", "rslave", "slave"}
_SELINUX = {"z", "Z"}


def parse_volume(spec: str) -> dict:
    """Short volume spec (``src:dst:opts``) -> long-syntax dict (Compose's ParseVolume)."""
    vol: dict = {}
    if not spec:
        raise LoadError("invalid empty volume spec")
    if len(spec) <= 2:
        return {"type": "volume", "target": spec}
    source = target = None
    options: list[str] = []
    buf = ""
    depth = 0
    end = len(spec)
    for i, ch in enumerate(spec + "\0"):
        if ch == "$" and i + 1 < end and spec[i + 1] == "{":
            depth += 1
            buf += ch
            continue
        if ch == "}" and depth > 0:
            depth -= 1
            buf += ch
            continue
        if _is_drive(buf, ch):
            buf += ch
        elif (ch == ":" or (ch == "\0" and i == end)) and depth == 0:
            if not buf:
                raise LoadError(f"invalid spec: {spec}: empty section between colons")
            if source is None and i == end:
                target = buf
            elif source is None:
                source = buf
            elif target is None:
                target = buf
            elif ch == ":":
                raise LoadError(f"invalid spec: {spec}: too many colons")
            else:
                options = buf.split(",")
            buf = ""
        else:
            buf += ch
    if source:
        vol["source"] = source
    if target:
        vol["target"] = target
    bind: dict = {}
    volume: dict = {}
    for opt in options:
        if opt == "ro":
            vol["read_only"] = True
        elif opt == "rw":
            vol.pop("read_only", None)
        elif opt == "nocopy":
            volume = {"nocopy": True}
        elif opt in _PROPAGATIONS:
            bind["propagation"] = opt
        elif opt in _SELINUX:
            bind["selinux"] = opt
    if is_file_path(source or ""):
        vol["type"] = "bind"
        bind["create_host_path"] = True
        vol["bind"] = bind
        if volume:
            vol["volume"] = volume
    else:
        vol["type"] = "volume"
        vol["volume"] = volume
        if bind:
            vol["bind"] = bind
    if vol.get("target"):
        vol["target"] = posixpath.normpath(vol["target"]) if vol["target"] else ""
        if vol["target"].startswith("//"):
            vol["target"] = "/" + vol["target"].lstrip("/")
    return vol


def parse_device(spec: str) -> dict:
    arr = spec.split(":")
    if len(arr) > 3:
        raise LoadError(f"confusing device mapping, please use long syntax: {spec}")
    src = arr[0]
    dst = arr[1] if len(arr) > 1 else ""
    perms = arr[2] if len(arr) > 2 else "rwm"
    return {"source": src, "target": dst or src, "permissions": perms}
