"""Keeping the kernel's cgroup-migration lock on its fast path while starts are coming.

Why: every write to a ``cgroup.procs`` takes the kernel's global threadgroup lock for writing, and
the first such write after a quiet spell waits for an RCU grace period first (the lock's readers,
fork and exit, are switched to their slow path): 8-16 ms on this class of machine (HZ=250), which
pid 1's join used to wait for at nearly every ``run``. The switch back to the fast path is itself
one grace period after the last writer, so writes spaced closer than that never wait. A
``JoinWarmer`` process moves itself into the cgroup it is already in (a no-op for the kernel's
accounting) every ``PERIOD`` seconds for as long as a start is expected: from the ``create`` that
announces one until ``LINGER`` after the last start, so the joins of the starts find the lock warm.
The first write after a quiet spell still waits its grace period, holding the kernel's cgroup mutex
meanwhile (a start's mkdirs wait behind it): hence a LINGER long enough to span a burst of commands
(a script's runs, a benchmark's rounds), for ~500 no-op writes.

The group is looked up again before each write (``Cgroup.own_procs`` reads /proc/self/cgroup):
on a delegated cgroup v2 tree the first container's create moves every process of the service's
group, this one too, into a leaf so that controllers can be handed down ("no internal
processes"), and writes to the group it started in would move it back out and make the kernel
refuse the next hand-down (EBUSY).

A process of its own, not a thread: the supervisor stays single-threaded, which lets the runtime
fork pid 1 straight into its namespaces (engine.runtime.clone) and costs the start's main thread no
GIL hand-offs.
"""
from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import time
from typing import Callable, Union

Where = Union[str, Callable[[], "str | None"], None]  # our group's cgroup.procs, or how to find it now

PERIOD = 0.004  # one jiffy at HZ=250; a grace period is at least a few
LINGER = 2.0    # how long after the last ``keep`` the process goes on: a burst of runs keeps it
CANNOT_WRITE = 3  # the process's exit status when the group refused our pid


class JoinWarmer:
    """One per daemon: ``keep()`` whenever a container start is expected (a byte down a pipe while
    the process lives, a fork otherwise); ``close()`` when the daemon ends."""

    def __init__(self, procs: Where):
        # our own group's cgroup.procs, or a function that finds it (Cgroup.own_procs); None: nothing to warm
        self._procs = procs
        self._pid = 0
        self._wfd = -1

    def keep(self) -> None:
        if self._procs is None:
            return
        if self._pid and not self._alive():
            self._reap()
        if not self._pid:
            self._spawn()
            return
        with contextlib.suppress(OSError):  # BlockingIOError: a byte is pending already; EPIPE: ending now
            os.write(self._wfd, b"k")

    @property
    def active(self) -> bool:
        return self._pid != 0

    def close(self) -> None:
        if self._pid:
            self._reap()

    def reap_if_done(self) -> None:
        """Reap the process once it has ended (the daemon calls this some time after a keep)."""
        if self._pid:
            self._alive()

    def _alive(self) -> bool:
        try:
            pid, status = os.waitpid(self._pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self._pid, 0
        if pid == 0:
            return True
        self._pid = 0  # reaped by that waitpid
        os.close(self._wfd)
        self._wfd = -1
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == CANNOT_WRITE:
            self._procs = None  # a tree we cannot write to: stop trying for good
        return False

    def _reap(self) -> None:
        if self._wfd >= 0:
            os.close(self._wfd)  # EOF: it ends at once
            self._wfd = -1
        if self._pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0

    def _spawn(self) -> None:
        r, w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            status = 0
            try:
                os.closerange(3, r)
                os.closerange(r + 1, 1 << 20)
                _warm_loop(r, self._procs)
            except OSError:
                status = CANNOT_WRITE
            finally:
                os._exit(status)
        os.close(r)
        os.set_blocking(w, False)
        self._pid, self._wfd = pid, w


def _warm_loop(keeps: int, where: Where) -> None:
    """The child: write our pid into our group (looked up each time) every PERIOD until LINGER
    after the last keep (a byte on ``keeps``) or until the daemon closes its end; a group we cannot
    find or write ends it."""
    gc.disable()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    pid = str(os.getpid()).encode()
    poller = select.poll()
    poller.register(keeps, select.POLLIN)
    deadline = time.monotonic() + LINGER
    while True:
        procs = where() if callable(where) else where
        if procs is None:
            raise FileNotFoundError("our own cgroup is gone")
        fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if poller.poll(min(PERIOD, left) * 1000):
            if not os.read(keeps, 64):
                return  # the daemon closed its end
            deadline = time.monotonic() + LINGER
