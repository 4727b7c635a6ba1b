"""Compose sizes, CPU counts and durations as Kubernetes quantities and seconds.

WHY: the model carries sizes as bytes and durations as nanoseconds; Kubernetes wants
quantities (``512Mi``, ``500m``) and whole seconds with its own minimums.
"""
from __future__ import annotations

import math

from engine.values import parse_size


def size_bytes(text: str | None) -> int | None:
    """A size written as text outside the typed model (a tmpfs ``size=`` option, a volume label):
    bytes, or None when it is not one."""
    try:
        return parse_size(str(text)) if text not in (None, "") else None
    except ValueError:
        return None


def memory(n: int | None) -> str | None:
    """Bytes as the shortest exact binary quantity."""
    if not n or n <= 0:
        return None
    for suffix, mult in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n % mult == 0:
            return f"{n // mult}{suffix}"
    return str(n)


def cpu(value) -> str | None:
    """CPUs (``0.5``) as millicores (``500m``), whole CPUs as integers."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if f <= 0 or math.isnan(f) or math.isinf(f):
        return None
    milli = max(1, round(f * 1000))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def seconds(ns: int | None, minimum: int = 1) -> int | None:
    """A duration (nanoseconds) as whole seconds (rounded up, at least ``minimum``); None when unset."""
    if ns is None:
        return None
    return max(minimum, math.ceil(ns / 1e9))


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity back to bytes (for request <= limit checks)."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
    for suffix, mult in units.items():
        if quantity.endswith(suffix):
            return int(quantity[: -len(suffix)]) * mult
    return int(quantity)


def cpu_milli(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(quantity) * 1000
