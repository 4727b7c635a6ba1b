"""Keeping the kernel's cgroup-migration lock on its fast path while starts are coming.

Why: every write to a ``cgroup.procs`` takes the kernel's global threadgroup lock for writing, and
the first such write after a quiet spell waits for an RCU grace period first (the lock's readers,
fork and exit, are switched to their slow path): 8-16 ms on this class of machine (HZ=250), which
pid 1's join used to wait for at nearly every ``run``. The switch back to the fast path is itself
one grace period after the last writer, so writes spaced closer than that never wait. A
``JoinWarmer`` thread moves us into the cgroup we are already in (a no-op for the kernel's
accounting) every ``PERIOD`` seconds for as long as a start is expected: from the ``create`` that
announces one until shortly after the last start, so the joins of the starts find the lock warm.
"""
from __future__ import annotations

import os
import threading
import time


PERIOD = 0.004  # one jiffy at HZ=250; a grace period is at least a few
LINGER = 0.25   # how long after the last ``keep`` the thread goes on


class JoinWarmer:
    """One per daemon: ``keep()`` whenever a container start is expected (cheap; thread-safe)."""

    def __init__(self, procs: str | None):
        self._procs = procs  # our own group's cgroup.procs (Cgroup.own_procs); None: nothing to warm
        self._lock = threading.Lock()
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def keep(self, seconds: float = LINGER) -> None:
        if self._procs is None:
            return
        with self._lock:
            self._deadline = max(self._deadline, time.monotonic() + seconds)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cgroup-warm", daemon=True)
                self._thread.start()

    @property
    def active(self) -> bool:
        return self._thread is not None

    def _run(self) -> None:
        pid = str(os.getpid())
        while True:
            try:
                with open(self._procs, "w") as f:
                    f.write(pid)
            except OSError:
                with self._lock:  # a tree we cannot write to: stop trying for good
                    self._procs, self._thread = None, None
                return
            time.sleep(PERIOD)
            with self._lock:
                if time.monotonic() >= self._deadline:
                    self._thread = None
                    return
