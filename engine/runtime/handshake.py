"""The plumbing between the caller and a forked container process.

One pipe carries JSON lines child -> caller: first ``{"pid": N}``, then
nothing (the pipe is close-on-exec, so EOF means the command was exec'd) or
``{"error": ..., "status": ...}``. Errors cross the fork this way so the
caller can raise them synchronously, with the child's exact message.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import traceback

from engine import sys as ksys
from engine.runtime.errors import StartError

_MAX_MSG = 3500  # below PIPE_BUF: one atomic write


def send(fd: int, msg: dict) -> None:
    data = (json.dumps(msg) + "\n").encode()
    if len(data) > _MAX_MSG:
        msg["error"] = str(msg.get("error", ""))[: _MAX_MSG - 200] + "..."
        data = (json.dumps(msg) + "\n").encode()
    with contextlib.suppress(OSError):
        os.write(fd, data)


def report_failure(fd: int, exc: BaseException, what: str = "container setup") -> None:
    if os.environ.get("PYCOMPOSE_DEBUG"):
        # the child's traceback on its stderr, for developers (source lines may be gone after pivot_root)
        with contextlib.suppress(Exception):
            os.write(2, "".join(traceback.format_exception(exc)).encode())
    if isinstance(exc, StartError):
        send(fd, {"error": str(exc), "status": exc.status})
    elif isinstance(exc, OSError):
        send(fd, {"error": f"{what} failed: {exc.strerror or exc}", "status": 125})
    else:
        send(fd, {"error": f"{what} failed: {exc}", "status": 125})


def read_msg(f) -> dict | None:
    line = f.readline()
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError:
        return {"error": f"container setup failed: {line[:200]!r}", "status": 125}


def kill_started(pid: int) -> None:
    """Undo a fork the caller gives up on (its setup failed, or the caller was interrupted):
    SIGKILL the process if it was reported, and reap it."""
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def raise_failure(msg: dict) -> None:
    raise StartError(msg.get("error") or "container setup failed", int(msg.get("status", 125)))


def setup_stdio(stdio: tuple[int, int, int], keep: int, terminal: bool, keep_too: int = -1) -> int:
    """Put the process's stdio on 0/1/2, close every other fd but ``keep`` (and ``keep_too``, which must
    be above 2 and not a stdio source); returns ``keep``'s number."""
    if keep <= 2:
        keep = os.dup(keep)
    src = list(stdio)
    for i, fd in enumerate(src):  # move sources sitting on 0..2 out of the way first
        if fd <= 2 and fd != i:
            src[i] = os.dup(fd)
    for i, fd in enumerate(src):
        if fd != i:
            os.dup2(fd, i, inheritable=True)
        else:
            os.set_inheritable(i, True)
    lo = 3
    for fd in sorted(f for f in (keep, keep_too) if f >= 3):
        os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 1 << 20)
    if terminal and os.isatty(0):
        fcntl.ioctl(0, ksys.TIOCSCTTY, 0)
    return keep
