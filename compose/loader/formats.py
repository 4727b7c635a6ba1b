"""Value formats the schema leaves to the loader: short port mappings, durations, sizes, short
volume/device strings and extra hosts, judged before canonicalisation so a refusal names its line."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

from compose.errors import LoadError
from compose.loader.positioned import error_at, show
from compose.loader.shortsyntax import parse_device, parse_volume
from compose.loader.yamlread import Positions
from engine import values

_PROTOCOLS = ("tcp", "udp", "sctp")


def _port_number(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f'"{text}" is not a number')
    n = int(text)
    if not 0 <= n <= 65535:
        raise ValueError(f"port {n} is out of range (0-65535)")
    return n


def port_range(text: str) -> tuple[int, int]:
    if text == "":
        raise ValueError("empty port")
    start, dash, end = text.partition("-")
    lo = _port_number(start)
    if not dash or start == end:
        return lo, lo
    hi = _port_number(end)
    if hi < lo:
        raise ValueError(f"port range {text} ends before it starts")
    return lo, hi


def parse_port_spec(spec: str) -> None:
    """Raise ValueError (a reason, or "" for nonsense) when ``spec`` is not a valid short port mapping.

    Accepts what docker/go-connections' ``nat.ParsePortSpec`` accepts:
    ``[[IP:]HOST:]CONTAINER[/PROTO]`` with ranges ``a-b``.
    """
    parts = spec.split(":")
    if len(parts) == 1:
        ip, host, container = "", "", parts[0]
    elif len(parts) == 2:
        ip, host, container = "", parts[0], parts[1]
    else:
        ip, host, container = ":".join(parts[:-2]), parts[-2], parts[-1]
    container, _, proto = container.partition("/")
    if container == "":
        raise ValueError("no container port")
    proto = (proto or "tcp").lower()
    if proto not in _PROTOCOLS:
        raise ValueError(f'unknown protocol "{proto}" (use tcp, udp or sctp)')
    if ip:
        raw = ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
        try:
            ipaddress.ip_address(raw)
        except ValueError:
            if re.fullmatch(r"[\d:]+", ip):  # "80:80:80:80": too many fields, not an address attempt
                raise ValueError("") from None
            raise ValueError(f'invalid host IP "{ip}"') from None
    lo, hi = port_range(container)
    if host:
        hlo, hhi = port_range(host)
        if (hi - lo) != (hhi - hlo) and hi != lo:
            raise ValueError(f"host range {host} and container range {container} differ in size")


def check_duration(text: str) -> None:
    """Raise ValueError unless ``text`` is a duration Compose reads (Go's time.ParseDuration plus d, w)."""
    try:
        values.parse_duration(text, extended=True)
    except values.DurationError as e:
        if e.kind == "empty":
            raise ValueError("empty duration") from None
        if e.kind == "missing unit":
            raise ValueError("a unit is missing (ns, us, ms, s, m, h, d or w)") from None
        if e.kind == "unknown unit":
            raise ValueError(f'unknown unit "{e.unit}" (use ns, us, ms, s, m, h, d or w)') from None
        raise ValueError("use a number with a unit, like 1m30s, 500ms or 2h") from None


_SIZE_REASONS = {"no number": "a size needs a number, like 512m or 1.5g", "not a number": '"{}" is not a number',
                 "negative": "a size cannot be negative",
                 "suffix": 'unknown unit "{}" (use b, k, m, g, t or p, optionally followed by b or ib)'}


def check_size(text: str) -> None:
    """Raise ValueError unless ``text`` is a size Compose reads (docker/go-units RAMInBytes)."""
    if text == "-1":
        return
    try:
        values.parse_size(text)
    except values.SizeError as e:
        raise ValueError(_SIZE_REASONS[e.kind].format(e.part)) from None


_SIZE_KEYS = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")
_DURATION_KEYS = (("healthcheck", "interval"), ("healthcheck", "timeout"), ("healthcheck", "start_period"),
                  ("healthcheck", "start_interval"), ("stop_grace_period",),
                  ("deploy", "restart_policy", "delay"), ("deploy", "restart_policy", "window"),
                  ("deploy", "update_config", "delay"), ("deploy", "update_config", "monitor"),
                  ("deploy", "rollback_config", "delay"), ("deploy", "rollback_config", "monitor"))


def _dig(obj: Any, keys: tuple) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _judge(value: Any, parse: Callable[[str], None], what: str, path: tuple, positions) -> None:
    """Check a string value with ``parse``; numbers and uninterpolated ``$`` text are left alone."""
    if not isinstance(value, str) or "$" in value:
        return
    try:
        parse(value)
    except ValueError as e:
        raise error_at(f"{show(value)} is not a valid {what}: {e}", path, positions) from None


def _check_service_values(name: str, service: dict, positions) -> None:
    at = ("services", name)
    for keys in _DURATION_KEYS:
        _judge(_dig(service, keys), check_duration, "duration", at + keys, positions)
    for key in _SIZE_KEYS:
        _judge(service.get(key), check_size, "size", at + (key,), positions)
    _judge(_dig(service, ("build", "shm_size")), check_size, "size", at + ("build", "shm_size"), positions)
    for section in ("limits", "reservations"):
        keys = ("deploy", "resources", section, "memory")
        _judge(_dig(service, keys), check_size, "size", at + keys, positions)
    blkio = service.get("blkio_config")
    if isinstance(blkio, dict):
        for key in ("device_read_bps", "device_write_bps"):
            for i, dev in enumerate(blkio.get(key) or []):
                if isinstance(dev, dict):
                    _judge(dev.get("rate"), check_size, "size", at + ("blkio_config", key, i, "rate"), positions)
    for i, vol in enumerate(service.get("volumes") or []):
        if isinstance(vol, dict):
            size = _dig(vol, ("tmpfs", "size"))
            _judge(size, check_size, "size", at + ("volumes", i, "tmpfs", "size"), positions)
    _check_short_syntax(service, at, positions)
    hosts = service.get("extra_hosts")
    if isinstance(hosts, list):
        for i, entry in enumerate(hosts):
            if isinstance(entry, str) and "$" not in entry and "=" not in entry and ":" not in entry:
                raise error_at(f'{show(entry)} is not a valid extra host: use "name=ip" or "name:ip"',
                             at + ("extra_hosts", i), positions)


def _check_short_syntax(service: dict, at: tuple, positions) -> None:
    """Short volume/device strings, parsed by the loader's own parsers (compose.loader.shortsyntax,
    which the canonical stage uses too), so a refusal names its line."""
    for key, parse in (("volumes", parse_volume), ("devices", parse_device)):
        entries = service.get(key)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if isinstance(entry, str) and "$" not in entry:
                try:
                    parse(entry)
                except LoadError as e:
                    raise error_at(e.bare_message, at + (key, i), positions) from None


def check_formats(doc: dict, positions: Positions | None) -> None:
    services = doc.get("services")
    if not isinstance(services, dict):
        return
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        _check_service_values(name, service, positions)
        for i, port in enumerate(service.get("ports") or []):
            if isinstance(port, (str, int, float)) and not isinstance(port, bool):
                text = str(port) if not isinstance(port, float) else repr(port)
                if "$" in text:  # not interpolated (--no-interpolate): nothing to judge yet
                    continue
                try:
                    parse_port_spec(text)
                except ValueError as e:
                    reason = f": {e}" if str(e) else ""
                    raise error_at(f"{show(text)} is not a valid port mapping{reason}",
                                 ("services", name, "ports", i), positions) from None
            elif isinstance(port, dict):
                _check_long_port(port, ("services", name, "ports", i), positions)


def _check_long_port(port: dict, path: tuple, positions: Positions | None) -> None:
    target, published = port.get("target"), port.get("published")
    for key, value in (("target", target), ("published", published)):
        if not isinstance(value, (int, str)) or isinstance(value, bool) \
                or (isinstance(value, str) and ("$" in value or value == "")):
            continue
        try:
            if key == "target":  # one container port per long-syntax entry; published may be a range
                _port_number(str(value))
            else:
                port_range(str(value))
        except ValueError as e:
            raise error_at(f"{show(value)} is not a valid port: {e}", path + (key,), positions) from None
    proto = port.get("protocol")
    if isinstance(proto, str) and proto and "$" not in proto and proto.lower() not in _PROTOCOLS:
        raise error_at(f'unknown protocol "{proto}" (use tcp, udp or sctp)', path + ("protocol",), positions)
