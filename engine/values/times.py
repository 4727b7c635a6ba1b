"""Times as Docker writes and reads them: RFC 3339 with nanoseconds, and the
``--since``/``--until`` values of ``docker logs``/``events``/filters (Docker's GetTimestamp)."""
from __future__ import annotations

import re
import time
from functools import lru_cache

from engine.values.durations import DurationError, parse_duration

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})")
# Docker's --since forms: a date, an hour, a minute, seconds (with a fraction); zone optional (local)
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?"
                    r"([Zz]|[+-]\d{2}:?\d{2})?")
_UNIX = re.compile(r"(\d+)(?:\.(\d*))?")


def _zone_seconds(zone: str) -> int:
    if zone in ("Z", "z"):
        return 0
    z = zone.replace(":", "")
    offset = int(z[1:3]) * 3600 + int(z[3:5]) * 60
    return offset if z[0] == "+" else -offset


@lru_cache(maxsize=4096)
def _epoch(y: int, mo: int, d: int, h: int, mi: int, s: int, zone: str | None) -> int:
    """Seconds since the epoch of a wall-clock time in ``zone`` (None: the local zone)."""
    import calendar  # here: with datetime and locale it is ~1 ms of every command that imports values

    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60 and s < 60):
        raise ValueError("time out of range")
    if zone is None:
        return int(time.mktime((y, mo, d, h, mi, s, 0, 0, -1)))
    return calendar.timegm((y, mo, d, h, mi, s)) - _zone_seconds(zone)


def _nanos(frac: str | None) -> int:
    return int((frac or "")[:9].ljust(9, "0"))


def parse_rfc3339(text: str) -> int:
    """``2024-05-01T10:00:00.123456789Z`` (or an offset) -> unix nanoseconds; ValueError otherwise."""
    m = _RFC3339.fullmatch(text)
    if not m:
        raise ValueError(f'invalid RFC 3339 time "{text}"')
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    return _epoch(y, mo, d, h, mi, s, m.group(8)) * 1_000_000_000 + _nanos(m.group(7))


def format_rfc3339_nano(ns: int) -> str:
    """Unix nanoseconds -> ``2024-05-01T10:00:00.123456789Z`` (UTC, nine digits: Docker's log times)."""
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def parse_timestamp(value: str, now_ns: int | None = None) -> int:
    """Docker's ``--since``/``--until``: a Go duration before now (``10m``, ``1h30m``), an RFC 3339
    time or date (no zone: local time), or unix seconds (``1700000000.5``) -> unix nanoseconds."""
    s = value.strip()
    if s != "0":
        try:
            ago = parse_duration(s)
        except DurationError:
            pass
        else:
            return (time.time_ns() if now_ns is None else now_ns) - ago
    m = _STAMP.fullmatch(s)
    if m:
        y, mo, d, h, mi, sec = (int(g or 0) for g in m.groups()[:6])
        return _epoch(y, mo, d, h, mi, sec, m.group(8)) * 1_000_000_000 + _nanos(m.group(7))
    m = _UNIX.fullmatch(s)
    if m is None or "-" in s:
        raise ValueError(f'failed to parse value as time or duration: "{value}"')
    return int(m.group(1)) * 1_000_000_000 + _nanos(m.group(2))
