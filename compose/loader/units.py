"""Sizes and durations the way Compose reads and prints them.

WHY: ``mem_limit: 1g`` must become ``"1073741824"`` and ``window: 120s`` must print as
``2m0s`` (Go's time.Duration format) for ``config`` output to match Docker Compose.
"""
from __future__ import annotations

import re

_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_MULT = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """docker/go-units RAMInBytes: binary multipliers, optional i/b suffixes."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"invalid size: '{text}'")
    num = m.group(1)
    try:
        size = float(num)
    except ValueError:
        raise ValueError(f"invalid size: '{text}'") from None
    unit = (m.group(2) or "").lower()
    return int(size * _MULT.get(unit, 1))


_DUR_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 10**6, "s": 10**9,
              "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}
_DUR_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)")


def parse_duration(text: str) -> int:
    """Duration string (Go syntax plus ``d`` and ``w``) -> nanoseconds."""
    s = text
    orig = text
    if s in ("0", "+0", "-0"):
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    neg = False
    if s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DUR_PART.match(s, pos)
        if not m or m.group(1) in ("", "."):
            if re.match(r"[0-9.]+$", s[pos:]):
                raise ValueError(f'time: missing unit in duration "{orig}"')
            raise ValueError(f'time: invalid duration "{orig}"')
        unit = m.group(2)
        if unit not in _DUR_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{orig}"')
        total += float(m.group(1)) * _DUR_UNITS[unit]
        pos = m.end()
    ns = int(round(total))
    return -ns if neg else ns


def _fmt_frac(v: int, prec: int) -> str:
    """v / 10**prec printed without trailing zeros (Go's fmtFrac + fmtInt)."""
    whole, frac = divmod(v, 10**prec)
    if frac == 0:
        return str(whole)
    f = str(frac).rjust(prec, "0").rstrip("0")
    return f"{whole}.{f}"


def format_duration(ns: int) -> str:
    """Go's time.Duration.String()."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < 10**9:
        if u < 1000:
            out = f"{u}ns"
        elif u < 10**6:
            out = _fmt_frac(u, 3) + "µs"
        else:
            out = _fmt_frac(u, 6) + "ms"
    else:
        secs_ns = u % (60 * 10**9)
        mins_total = u // (60 * 10**9)
        out = _fmt_frac(secs_ns, 9) + "s"
        if mins_total:
            h, m = divmod(mins_total, 60)
            out = f"{m}m" + out
            if h:
                out = f"{h}h" + out
    return ("-" + out) if neg else out
