"""Published ports: Docker's PortBindings / PublishAllPorts -> concrete host ports.

Parsing is pure. ``resolve`` checks EVERY host port before the container exists:
against ports already published by our containers (recorded in state) and by trying
to bind it, so a port held by any host process is refused with Docker's message, and
a random port is picked (and reported) when none is given.
"""
from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable, Iterable

from engine.errors import Conflict, InvalidArgument

PROTOS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Request:
    """One wanted binding: container port/proto on host ip, host port range (lo == hi, or 0 = random)."""

    proto: str
    container_port: int
    host_ip: str
    host_lo: int
    host_hi: int


@dataclass(frozen=True)
class Mapping:
    """One decided binding."""

    proto: str
    container_port: int
    host_ip: str
    host_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def _port(text: str, what: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what} port {text!r}") from None
    if not 0 <= v <= 65535:
        raise InvalidArgument(f"invalid {what} port {text}: out of range 0-65535")
    return v


def _range(text: str, what: str) -> tuple[int, int]:
    text = (text or "").strip()
    if not text:
        return 0, 0
    lo, _, hi = text.partition("-")
    a = _port(lo, what)
    b = _port(hi, what) if hi else a
    if b < a:
        raise InvalidArgument(f"invalid {what} port range {text}: end is before start")
    return a, b


def parse_key(key: str) -> tuple[str, int, int]:
    """``"80/tcp"`` / ``"8000-8002/udp"`` / ``"53"`` -> (proto, lo, hi)."""
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOS:
        raise InvalidArgument(f"invalid proto {proto!r} in port {key!r}")
    lo, hi = _range(port, "container")
    if lo == 0:
        raise InvalidArgument(f"invalid container port {key!r}")
    return proto, lo, hi


def requests_from(host_config: dict | None, exposed: dict | None = None) -> list[Request]:
    """Expand PortBindings (and PublishAllPorts over ExposedPorts) into one request per container port."""
    hc = host_config or {}
    out: list[Request] = []
    bound: set[tuple[str, int]] = set()
    for key, binds in (hc.get("PortBindings") or {}).items():
        proto, clo, chi = parse_key(key)
        for b in binds or [{}]:
            b = b or {}
            host_ip = (b.get("HostIp") or "").strip()
            if ":" in host_ip:
                raise InvalidArgument(f"cannot publish {key} on {host_ip}: host ports are published on IPv4 "
                                      "addresses (0.0.0.0, 127.0.0.1, or one of the host's)")
            if host_ip:
                try:
                    ipaddress.IPv4Address(host_ip)
                except ValueError:
                    raise InvalidArgument(f"invalid host IP {host_ip!r} for port {key}") from None
            hlo, hhi = _range(str(b.get("HostPort") or ""), "host")
            count = chi - clo + 1
            if count > 1 and hlo and (hhi - hlo + 1) != count:
                raise InvalidArgument(f"invalid port range {hlo}-{hhi}:{clo}-{chi}: "
                                      "host and container ranges have different sizes")
            for i in range(count):
                cport = clo + i
                if count > 1 and hlo:
                    out.append(Request(proto, cport, host_ip, hlo + i, hlo + i))
                else:
                    out.append(Request(proto, cport, host_ip, hlo, hhi))
                bound.add((proto, cport))
    if hc.get("PublishAllPorts"):
        for key in sorted(exposed or {}):
            proto, clo, chi = parse_key(key)
            for cport in range(clo, chi + 1):
                if (proto, cport) not in bound:
                    out.append(Request(proto, cport, "", 0, 0))
    return out


def _ip_overlap(a: str, b: str) -> bool:
    return a in ("", "0.0.0.0") or b in ("", "0.0.0.0") or a == b


def _sock_type(proto: str) -> int:
    return socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM


def host_port_free(proto: str, host_ip: str, port: int) -> bool:
    """Can a socket bind this port right now? (TIME_WAIT leftovers do not count as taken.)"""
    s = socket.socket(socket.AF_INET, _sock_type(proto))
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host_ip or "0.0.0.0", port))
        return True
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        if e.errno == errno.EADDRNOTAVAIL:
            raise InvalidArgument(f"cannot publish on {host_ip}:{port}: {host_ip} is not an address of this host") from None
        raise
    finally:
        s.close()


def random_port(proto: str, host_ip: str) -> int:
    """A port the kernel considers free (from its ephemeral range), like Docker's port allocator."""
    s = socket.socket(socket.AF_INET, _sock_type(proto))
    try:
        s.bind((host_ip or "0.0.0.0", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def resolve(requests: Iterable[Request], taken: Iterable[Mapping],
            is_free: Callable[[str, str, int], bool] = host_port_free,
            pick: Callable[[str, str], int] = random_port) -> list[Mapping]:
    """Decide every host port, or raise Conflict naming the first one that is taken."""
    used = list(taken)

    def clash(proto: str, ip: str, port: int) -> bool:
        return any(m.proto == proto and m.host_port == port and _ip_overlap(m.host_ip, ip) for m in used)

    out: list[Mapping] = []
    for r in requests:
        shown = r.host_ip or "0.0.0.0"
        if r.host_lo == 0:
            for _ in range(64):
                port = pick(r.proto, r.host_ip)
                if not clash(r.proto, r.host_ip, port):
                    break
            else:  # pragma: no cover - the kernel kept returning ports we publish
                raise Conflict(f"no free host port for {r.container_port}/{r.proto}")
        else:
            port = 0
            for cand in range(r.host_lo, r.host_hi + 1):
                if not clash(r.proto, r.host_ip, cand) and is_free(r.proto, r.host_ip, cand):
                    port = cand
                    break
            if not port:
                where = f"{r.host_lo}" if r.host_lo == r.host_hi else f"{r.host_lo}-{r.host_hi}"
                raise Conflict(f"Bind for {shown}:{where} failed: port is already allocated")
        m = Mapping(r.proto, r.container_port, r.host_ip, port)
        used.append(m)
        out.append(m)
    return out


def to_docker(mappings: Iterable[Mapping], exposed: dict | None = None) -> dict:
    """NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "81/tcp": None}."""
    ports: dict = {}
    for key in exposed or {}:
        proto, lo, hi = parse_key(key)
        for p in range(lo, hi + 1):
            ports.setdefault(f"{p}/{proto}", None)
    for m in mappings:
        lst = ports.get(m.key) or []
        lst.append({"HostIp": m.host_ip or "0.0.0.0", "HostPort": str(m.host_port)})
        ports[m.key] = lst
    return ports
