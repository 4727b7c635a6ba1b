"""The container's stdio as the supervisor owns it: output FIFOs pumped into the json-file log,
stdin (an idle FIFO for OpenStdin, a relay that ends with the attached writer for StdinOnce).

Why FIFOs in the container directory: the container holds them open read-write, so if the
daemon dies its writes never fail with EPIPE (it blocks only when 64 KiB are unread), and
the next daemon re-opens them and goes on logging where the last one stopped.

With a Tty the output comes from the pty master, which the daemon holds; a duplicate is
parked in a ``sleep`` process started for it (argv[0] ``pycompose-supervisor-tty <id>``,
~0.3 MiB), so a dying daemon does not hang up the container's terminal (no SIGHUP) and the
next daemon takes the master back with pidfd_getfd.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import selectors
import shutil
import signal
import subprocess
import traceback
from pathlib import Path

from engine import sys as ksys
from engine.state import read_json, write_json
from engine.supervisor.box import Box

KEEPER = "pycompose-supervisor-tty"


_libc = ctypes.CDLL(None, use_errno=True)
_libc.tee.restype = ctypes.c_ssize_t
_libc.tee.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint)
SPLICE_F_NONBLOCK = 0x02
_NOT_PIPES: set[int] = set()  # fds tee refused (ptys): read them; forgotten when the fd is closed


def _tee(src: int, dst: int, n: int) -> int:
    """Bytes copied from pipe ``src`` to pipe ``dst`` without consuming them; -1 when ``src`` is
    not a pipe. BlockingIOError when ``src`` is empty."""
    got = _libc.tee(src, dst, n, SPLICE_F_NONBLOCK)
    if got >= 0:
        return got
    err = ctypes.get_errno()
    if err == errno.EAGAIN:
        raise BlockingIOError(err, os.strerror(err))
    if err == errno.EINTR:
        raise InterruptedError(err, os.strerror(err))
    if err == errno.EINVAL:
        return -1
    raise OSError(err, os.strerror(err))


_DEVNULL: list[int] = []


def _consume(fd: int, n: int) -> None:
    """Drop ``n`` bytes that were teed and logged from the front of pipe ``fd`` (spliced into
    /dev/null: no copy through user space)."""
    if not _DEVNULL:
        _DEVNULL.append(os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC))
    while n > 0:
        try:
            got = os.splice(fd, _DEVNULL[0], n)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:  # no splice here: read and drop
            got = len(os.read(fd, min(n, 65536)))
        if not got:
            return
        n -= got


def _is_keeper(pid: int, cid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace") == f"{KEEPER} {cid[:12]}"
    except OSError:
        return False


class StdioMixin:
    """Part of ``Supervisor`` (engine.supervisor.daemon): uses its selector and container store."""

    # ---- tty: the pty master parked outside the daemon
    def _keep_console(self, box: Box, master: int) -> None:
        sleep = shutil.which("sleep") or "/bin/sleep"
        try:
            proc = subprocess.Popen([f"{KEEPER} {box.cid[:12]}", "infinity"], executable=sleep, pass_fds=(master,),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True, cwd="/")
        except OSError:
            traceback.print_exc()  # the container still runs; it would only not survive our death
            return
        box.keeper_pid, box.keeper_is_child = proc.pid, True
        proc.returncode = 0  # we reap it ourselves (waitpid in _release_keeper), not subprocess
        write_json(self.store.dir(box.cid) / "tty-keeper.json", {"pid": proc.pid, "fd": master})

    def _take_console(self, box: Box) -> int | None:
        """After a daemon restart: the master back from the keeper, or None."""
        info = read_json(self.store.dir(box.cid) / "tty-keeper.json") or {}
        pid = int(info.get("pid") or 0)
        if not pid or not _is_keeper(pid, box.cid):
            return None
        try:
            fd = ksys.pidfd_getfd(pid, int(info["fd"]))
        except (OSError, KeyError, ValueError):
            return None
        box.keeper_pid, box.keeper_is_child = pid, False
        os.set_blocking(fd, False)
        return fd

    def _release_keeper(self, box: Box) -> None:
        path = self.store.dir(box.cid) / "tty-keeper.json"
        pid = box.keeper_pid
        if not pid:  # e.g. the container died while no daemon ran: the keeper from the file
            pid = int((read_json(path) or {}).get("pid") or 0)
            if not (pid and _is_keeper(pid, box.cid)):
                pid = 0
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if box.keeper_is_child:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        box.keeper_pid, box.keeper_is_child = 0, False
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _stdio(self, box: Box, rec: dict, outputs: dict[int, str]) -> tuple[tuple[int, int, int], list[int]]:
        """FIFOs the container holds read-write (see the module docstring); our read ends go in ``outputs``."""
        cdir = self.store.dir(box.cid)
        child = []
        cfg = rec.get("Config") or {}
        if cfg.get("OpenStdin") and cfg.get("StdinOnce"):
            # `run -i`: the container reads a pipe we feed from stdin.fifo; when the attached client
            # closes the FIFO, we close the pipe and the container sees EOF (Docker's StdinOnce)
            r, w = os.pipe2(os.O_CLOEXEC)
            child.append(r)
            os.set_blocking(w, False)
            fifo = self._open_fifo(cdir / "stdin.fifo", create=True)
            box.stdin_relay = {"fifo": fifo, "pipe": w, "buf": bytearray(), "eof": False}
        elif cfg.get("OpenStdin"):
            path = cdir / "stdin.fifo"
            if not path.exists():
                os.mkfifo(path, 0o600)
            child.append(os.open(path, os.O_RDWR | os.O_CLOEXEC))  # never EOF: like an open, idle stdin
        else:
            child.append(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
        for stream in ("stdout", "stderr"):
            fd = self._open_fifo(cdir / f"{stream}.fifo", create=True)
            outputs[fd] = stream
            child.append(os.open(cdir / f"{stream}.fifo", os.O_RDWR | os.O_CLOEXEC))
        return (child[0], child[1], child[2]), child

    @staticmethod
    def _open_fifo(path: Path, create: bool) -> int:
        if create:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # a fresh pipe for every run: nothing of a previous run is read twice
            os.mkfifo(path, 0o600)
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)

    def _make_pump(self, box: Box, stream: str):
        def pump(fd: int) -> None:
            self._read_output(box, fd, stream)
        return pump

    def _read_output(self, box: Box, fd: int, stream: str, drain: bool = False) -> None:
        for _ in range(64 if not drain else 1 << 20):
            try:
                data, peeked = self._peek(fd)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno != errno.EIO:  # EIO: the last process on a pty closed it
                    traceback.print_exc()
                data, peeked = b"", False
            if not data:
                self._close_output(box, fd, stream)
                return
            try:
                if box.writer is not None:
                    box.writer.write(stream, data)
            finally:
                if peeked:
                    _consume(fd, len(data))

    def _peek(self, fd: int) -> tuple[bytes, bool]:
        """(what the output pipe holds, whether it is still in the pipe). A FIFO is read with tee(2):
        the bytes stay in it until they are in the log (the caller consumes them then), so a daemon
        killed in between leaves them for the next one instead of losing them. A pty is read."""
        scratch = getattr(self, "_scratch", None)
        if scratch is None:
            scratch = self._scratch = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        n = _tee(fd, scratch[1], 65536) if fd not in _NOT_PIPES else -1
        if n < 0:
            _NOT_PIPES.add(fd)
            return os.read(fd, 65536), False
        if n == 0:
            return b"", False  # no writer left: the end of the stream
        chunks, got = [], 0
        while got < n:
            chunk = os.read(scratch[0], n - got)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks), True

    def _close_output(self, box: Box, fd: int, stream: str) -> None:
        self._unwatch(fd)
        _NOT_PIPES.discard(fd)
        if box.outputs.pop(fd, None) is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if box.writer is not None:
            box.writer.flush(stream)

    # ------------------------------------------------------------------ stdin (StdinOnce)
    def _stdin_in(self, box: Box) -> None:
        rl = box.stdin_relay
        if rl is None:
            return
        try:
            data = os.read(rl["fifo"], 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the attached client closed its end: stdin ends for the container too
            self._unwatch(rl["fifo"])
            os.close(rl["fifo"])
            rl["fifo"], rl["eof"] = -1, True
        else:
            rl["buf"].extend(data)
        self._stdin_out(box)

    def _stdin_out(self, box: Box) -> None:
        rl = box.stdin_relay
        if rl is None:
            return
        try:
            while rl["buf"]:
                n = os.write(rl["pipe"], rl["buf"])
                del rl["buf"][:n]
        except BlockingIOError:
            pass
        except OSError:  # the container closed its stdin
            self._close_stdin_relay(box)
            return
        self._unwatch(rl["pipe"])
        if rl["buf"]:
            self.sel.register(rl["pipe"], selectors.EVENT_WRITE, lambda _fd, b=box: self._stdin_out(b))
            if rl["fifo"] >= 0 and len(rl["buf"]) > (1 << 20):
                self._unwatch(rl["fifo"])  # back-pressure: stop reading until the container catches up
        else:
            if rl["eof"]:
                self._close_stdin_relay(box)
            elif rl["fifo"] >= 0:
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.register(rl["fifo"], selectors.EVENT_READ, lambda _fd, b=box: self._stdin_in(b))

    def _close_stdin_relay(self, box: Box) -> None:
        rl, box.stdin_relay = box.stdin_relay, None
        if rl is None:
            return
        for key in ("fifo", "pipe"):
            if rl[key] >= 0:
                self._unwatch(rl[key])
                with contextlib.suppress(OSError):
                    os.close(rl[key])
