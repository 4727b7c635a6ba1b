"""Steps with their undo: run in order, undone in reverse when a later one fails.

Why: an operation made of several kernel and disk side effects (a container start: network leases,
a log writer, a cgroup, FIFOs, a forked process) must leave nothing behind when one of them fails.
Each step says how to undo itself as it is taken, so the error path is the list of what was
really done, not a re-reading of which variables happen to be set.
"""
from __future__ import annotations

import contextlib
from typing import Callable, TypeVar

T = TypeVar("T")

__all__ = ["Transaction"]


class Transaction:
    """``with Transaction() as txn:`` ... ``txn.step(do, undo)`` / ``txn.on_undo(undo)``; an exception
    leaving the block runs the undos of the steps taken, newest first, and is re-raised. An undo
    that fails does not stop the others (the first error is the one worth reporting)."""

    def __init__(self) -> None:
        self._undos: list[Callable[[], object]] = []

    def on_undo(self, undo: Callable[[], object]) -> None:
        """Register ``undo`` now: for steps whose partial work must be undone too (register first,
        then act), so ``undo`` must cope with whatever part of the step was done."""
        self._undos.append(undo)

    def step(self, do: Callable[[], T], undo: Callable[[T], object] | None = None) -> T:
        """Run ``do``; once it succeeded, ``undo(its result)`` is due on failure."""
        result = do()
        if undo is not None:
            self._undos.append(lambda: undo(result))
        return result

    def rollback(self) -> None:
        while self._undos:
            undo = self._undos.pop()
            with contextlib.suppress(Exception):
                undo()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.rollback()
        self._undos.clear()
        return False
