"""Go durations: ``time.ParseDuration`` and ``time.Duration.String()``.

Compose reads durations with compose-go's parser, which is Go's plus ``d`` and ``w``
(``extended=True``); the docker CLI's flags (``--health-interval``) use Go's own.
"""
from __future__ import annotations

_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_EXTENDED = {**_UNITS, "d": 86_400_000_000_000, "w": 7 * 86_400_000_000_000}
_LIMIT = 1 << 63


class DurationError(ValueError):
    """Not a duration. ``kind``: "empty", "invalid", "missing unit" or "unknown unit" (then ``unit``)."""

    def __init__(self, message: str, kind: str, unit: str = ""):
        super().__init__(message)
        self.kind, self.unit = kind, unit


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _digits(s: str, i: int) -> int:
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    return i


def _fraction(text: str) -> tuple[int, float]:
    """Go's leadingFraction: digits kept while they fit in an int64, and their scale."""
    f, scale = 0, 1.0
    for ch in text:
        if f > (_LIMIT - 1) // 10:
            break  # further digits cannot change the value
        f, scale = f * 10 + int(ch), scale * 10
    return f, scale


def parse_duration(text: str, *, extended: bool = False) -> int:
    """``1m30s``, ``-1.5h``, ``500ms``, ``0`` -> nanoseconds (``extended``: also ``d``, ``w``)."""
    units = _EXTENDED if extended else _UNITS
    s, neg = text, False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError(f"time: invalid duration {_quote(text)}", "empty")
    total, i = 0, 0
    while i < len(s):
        if not (s[i] == "." or "0" <= s[i] <= "9"):
            raise DurationError(f"time: invalid duration {_quote(text)}", "invalid")
        j = _digits(s, i)
        whole, frac = int(s[i:j] or 0), (0, 1.0)
        pre, post = j > i, False
        if j < len(s) and s[j] == ".":
            k = _digits(s, j + 1)
            frac, post, j = _fraction(s[j + 1:k]), k > j + 1, k
        if not (pre or post):
            raise DurationError(f"time: invalid duration {_quote(text)}", "invalid")
        k = j
        while k < len(s) and not (s[k] == "." or "0" <= s[k] <= "9"):
            k += 1
        if k == j:
            raise DurationError(f"time: missing unit in duration {_quote(text)}", "missing unit")
        unit = s[j:k]
        if unit not in units:
            raise DurationError(f"time: unknown unit {_quote(unit)} in duration {_quote(text)}", "unknown unit", unit)
        value = whole * units[unit]
        if frac[0]:
            value += int(frac[0] * (units[unit] / frac[1]))
        total += value
        if whole > _LIMIT // units[unit] or total > _LIMIT:
            raise DurationError(f"time: invalid duration {_quote(text)}", "invalid")
        i = k
    if not neg and total > _LIMIT - 1:
        raise DurationError(f"time: invalid duration {_quote(text)}", "invalid")
    return -total if neg else total


def _frac(value: int, digits: int) -> str:
    """``value / 10**digits`` without trailing zeros (Go's fmtFrac and fmtInt)."""
    whole, frac = divmod(value, 10 ** digits)
    if not frac:
        return str(whole)
    return f"{whole}." + str(frac).rjust(digits, "0").rstrip("0")


def format_duration(ns: int) -> str:
    """Go's ``time.Duration(ns).String()``: ``1h2m3.5s``, ``1.5ms``, ``0s``."""
    if ns == 0:
        return "0s"
    u = abs(ns)
    if u < 1_000:
        out = f"{u}ns"
    elif u < 1_000_000:
        out = _frac(u, 3) + "\u00b5s"
    elif u < 1_000_000_000:
        out = _frac(u, 6) + "ms"
    else:
        minutes, rest = divmod(u, 60_000_000_000)
        out = _frac(rest, 9) + "s"
        if minutes:
            hours, minutes = divmod(minutes, 60)
            out = f"{minutes}m" + out
            if hours:
                out = f"{hours}h" + out
    return "-" + out if ns < 0 else out
