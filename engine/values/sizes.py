"""Sizes as docker/go-units v0.5 reads them: ``RAMInBytes`` (binary, ``1k`` = 1024) and
``FromHumanSize`` (decimal, ``1k`` = 1000)."""
from __future__ import annotations

import re

_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")   # what strconv.ParseFloat takes here
_BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_DECIMAL = {"k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12, "p": 10 ** 15}


class SizeError(ValueError):
    """Not a size. ``kind``: "no number", "not a number" (``part`` = the number text),
    "negative" or "suffix" (``part`` = the suffix)."""

    def __init__(self, message: str, kind: str, part: str = ""):
        super().__init__(message)
        self.kind, self.part = kind, part


def parse_size(text: str, *, decimal: bool = False) -> int:
    """``512m``, ``1.5g``, ``64MB``, ``2GiB``, ``100`` -> bytes (go-units' parseSize)."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise SizeError(f"invalid size: '{text}'", "no number")
    if text[sep] == " ":
        num, sfx = text[:sep], text[sep + 1:]
    else:
        num, sfx = text[:sep + 1], text[sep + 1:]
    if not _FLOAT.fullmatch(num):
        raise SizeError(f'strconv.ParseFloat: parsing "{num}": invalid syntax', "not a number", num)
    size = float(num)
    if size < 0:
        raise SizeError(f"invalid size: '{text}'", "negative")
    low = sfx.lower()
    if not low or low == "b":
        return int(size)
    mult = (_DECIMAL if decimal else _BINARY).get(low[0])
    if len(low) > 3 or mult is None or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise SizeError(f"invalid suffix: '{low if len(low) <= 3 else sfx}'", "suffix", sfx)
    return int(size * mult)
