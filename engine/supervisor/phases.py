"""Phase timings of one container start, written to the supervisor log when profiling.

Why: a cProfile of the daemon shows where CPU goes, not where a start waits
(on the network worker, on the container's setup, on the disk); these marks
do. Enabled by ``PYCOMPOSE_SUPERVISOR_PHASES=1`` (bench/engine.py sets it: a
few clock reads per start) or by ``PYCOMPOSE_SUPERVISOR_PROFILE`` (the
daemon's cProfile stats); otherwise every call is a no-op.
"""
from __future__ import annotations

import os
import sys
import time

ENABLED = bool(os.environ.get("PYCOMPOSE_SUPERVISOR_PROFILE") or os.environ.get("PYCOMPOSE_SUPERVISOR_PHASES"))
PREFIX = "phases "


class Phases:
    __slots__ = ("marks",)

    def __init__(self):
        self.marks: list[tuple[str, float]] = [("begin", time.perf_counter())] if ENABLED else []

    def mark(self, name: str) -> None:
        if ENABLED:
            self.marks.append((name, time.perf_counter()))

    def report(self, what: str) -> None:
        """One line: each phase's milliseconds since the mark before it, then the total."""
        if not ENABLED or len(self.marks) < 2:
            return
        parts = [f"{name}={(t - self.marks[i][1]) * 1000:.1f}" for i, (name, t) in enumerate(self.marks[1:])]
        total = (self.marks[-1][1] - self.marks[0][1]) * 1000
        print(f"{PREFIX}{what} {' '.join(parts)} total={total:.1f}ms", file=sys.stderr, flush=True)


def parse(lines, what: str = "start") -> dict[str, list[float]]:
    """Milliseconds per phase name from the log lines ``report`` wrote for ``what`` (start, exit)."""
    out: dict[str, list[float]] = {}
    for line in lines:
        if not line.startswith(f"{PREFIX}{what} "):
            continue
        for part in line.split()[3:]:
            name, eq, value = part.partition("=")
            if eq:
                out.setdefault(name, []).append(float(value.removesuffix("ms")))
    return out
