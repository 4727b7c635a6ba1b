"""What the start-up and build benchmarks share: the ``-n`` rounds option, and timing ours beside a
peer in the same run, one after the other each round, so that a load change hits both alike."""
from __future__ import annotations

import argparse
from typing import Callable


def parser(doc: str | None, rounds: int) -> argparse.ArgumentParser:
    """An argument parser with the module's docstring as its help and ``-n`` (rounds, default ``rounds``)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=rounds, help=f"rounds (default {rounds})")
    return ap


def alternate(ours: Callable[[int], float], theirs: Callable[[int], float] | None,
              rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Call ``ours(i)`` then ``theirs(i)`` (None: no peer installed) for each round ``i``; their times
    in seconds and the pairwise ratios ours/theirs."""
    a: list[float] = []
    b: list[float] = []
    ratios: list[float] = []
    for i in range(rounds):
        a.append(ours(i))
        if theirs is not None:
            b.append(theirs(i))
            ratios.append(a[-1] / b[-1])
    return a, b, ratios
