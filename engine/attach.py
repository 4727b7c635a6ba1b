"""``run -i`` / ``run -it`` in the foreground: our terminal and stdin wired to a supervised container.

Why like this: the container's stdio belongs to the supervisor daemon (so it
outlives the CLI); its output is already in the json-file log, which we
follow. Input goes the other way:

* without a tty, the supervisor gives the container a FIFO as stdin
  (``$ROOT/containers/<id>/stdin.fifo``, Config.OpenStdin); we write to it;
* with a tty, the supervisor holds the pty master; we take a duplicate of
  that one descriptor with ``pidfd_getfd`` (root only, like everything here),
  found by matching the container's ``/dev/pts/N`` (its devpts mount id and
  index) against the daemon's ``ptmx`` descriptors, and write our keystrokes
  to it; the window size is set on it too.
"""
from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import sys
import termios
import threading
import time
import tty as _tty
from pathlib import Path

from engine.errors import EngineError



def _fdinfo(pid: int, fd: int | str) -> dict[str, str]:
    out = {}
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k.strip()] = v.strip()
    except OSError:
        pass
    return out


def console_master(supervisor_pid: int, container_pid: int) -> int:
    """A duplicate of the pty master the supervisor holds for the container whose pid 1 is given."""
    slave = os.readlink(f"/proc/{container_pid}/fd/0")
    m = re.fullmatch(r"/dev/pts/(\d+)", slave)
    if not m:
        raise EngineError(f"the container's stdin is not a terminal ({slave})")
    index, mnt = m.group(1), _fdinfo(container_pid, 0).get("mnt_id")
    for fd in os.listdir(f"/proc/{supervisor_pid}/fd"):
        try:
            link = os.readlink(f"/proc/{supervisor_pid}/fd/{fd}")
        except OSError:
            continue
        if not link.endswith("ptmx"):
            continue
        info = _fdinfo(supervisor_pid, fd)
        if info.get("tty-index") == index and info.get("mnt_id") == mnt:
            from engine import sys as ksys

            return ksys.pidfd_getfd(supervisor_pid, int(fd))
    raise EngineError("cannot attach: the container's terminal is not held by the supervisor")


def _stream_output(eng, cid: str, since: float | None = None) -> None:
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for e in eng.containers.logs(cid, follow=True, since=since):
        (out if e.stream == "stdout" else err).write(e.data)
        (out if e.stream == "stdout" else err).flush()


def run_interactive(eng, cid: str, tty: bool, stdin: bool, history: bool = True, *, stdin_fifo: Path) -> int:
    """Start ``cid`` (a no-op when it runs) and relay until it exits; returns its exit code.
    ``stdin_fifo``: the container's stdin FIFO (in its record dir), fed from our stdin.

    ``history=False`` relays only output from now on (``attach`` to a running container): from
    the moment of the call, so a reply to input we send is never missed."""
    since = None if history else time.time()
    eng.containers.start(cid)
    st = eng.containers.record(cid)["State"]
    pid = int(st.get("Pid") or 0)
    if tty and stdin and pid:
        return _relay_tty(eng, cid, pid, since)
    if stdin and pid:
        feeder = threading.Thread(target=feed_fifo, args=(stdin_fifo,), daemon=True)
        feeder.start()
    _stream_output(eng, cid, since)
    return eng.containers.wait(cid)


def feed_fifo(path, ended: threading.Event | None = None) -> None:
    """Copy our stdin into the container's stdin FIFO until our stdin ends (or ``ended`` is set:
    then stdin is polled, so the copy stops when the container does)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        while ended is None or not ended.is_set():
            if ended is not None and not select.select([0], [], [], 0.2)[0]:
                continue
            data = os.read(0, 65536)
            if not data:
                break
            os.write(fd, data)
    except OSError:
        pass
    finally:
        os.close(fd)


def _relay_tty(eng, cid: str, pid: int, since: float | None = None) -> int:
    from engine.runtime.tty import get_winsize, set_winsize

    sup = eng.supervisor.running_pid()
    if not sup:
        raise EngineError("cannot attach: the container supervisor is not running")
    master = console_master(sup, pid)
    in_fd = 0
    saved = None
    done = threading.Event()

    def resize(*_):
        with contextlib.suppress(OSError):
            rows, cols = get_winsize(in_fd)
            set_winsize(master, rows, cols)

    def pump_input() -> None:
        while not done.is_set():
            r, _, _ = select.select([in_fd], [], [], 0.2)
            if not r:
                continue
            data = os.read(in_fd, 4096)
            if not data:
                return
            try:
                os.write(master, data)
            except OSError:
                return

    try:
        if os.isatty(in_fd):
            resize()
            saved = termios.tcgetattr(in_fd)
            _tty.setraw(in_fd)
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGWINCH, resize)
        t = threading.Thread(target=pump_input, daemon=True)
        t.start()
        _stream_output(eng, cid, since)
        done.set()
        return eng.containers.wait(cid)
    finally:
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        os.close(master)
