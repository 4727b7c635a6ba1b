"""Waiting for processes a test did not fork (a supervisor, a container's pid 1) by pidfd, never
by sleeping, and ending the ones a test started, by their pid."""
from __future__ import annotations

import os
import select
import signal
from pathlib import Path


def _wait_readable(fd: int, pid: int, timeout: float) -> None:
    try:
        assert select.select([fd], [], [], timeout)[0], f"process {pid} still running after {timeout}s"
    finally:
        os.close(fd)


def wait_exit(pid: int, timeout: float = 60) -> None:
    """Block until ``pid`` (not necessarily our child) has exited: its pidfd turns readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    _wait_readable(fd, pid, timeout)


def kill_and_wait(pid: int, timeout: float = 60) -> None:
    """SIGKILL ``pid`` (a process the test started) and wait until it is gone; the pidfd is taken
    first, so the signal cannot reach another process that reused the number."""
    fd = os.pidfd_open(pid)
    os.kill(pid, signal.SIGKILL)
    _wait_readable(fd, pid, timeout)


def kill_supervisor(root: Path) -> int:
    """SIGKILL the supervisor of data root ``root`` (by its pid file) and wait for it; its pid."""
    pid = int((Path(root) / "run" / "supervisor.pid").read_text())
    kill_and_wait(pid)
    return pid


def is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and nobody reaped it yet (its exit status is still readable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
