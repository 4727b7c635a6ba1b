"""A directory's changes as a readable fd (inotify through ctypes), for the DNS server's loop.

Why: the server must answer from the state as it is when a query arrives, and checking the
generation file with a stat per query is a syscall on the hot path. With this fd in the same
epoll set as the DNS sockets, a change (the store's rename of ``generation``) is reported by
the very poll that reports a query sent after it, so the loop refreshes its table first and
answers without looking at the disk. ``fd`` is -1 where inotify is unavailable (the server then
stats per query, as before).
"""
from __future__ import annotations

import contextlib
import os

_MOVED_TO, _CLOSE_WRITE, _CREATE, _DELETE = 0x80, 0x8, 0x100, 0x200


class DirectoryWatch:
    def __init__(self, directory: str):
        self.fd = -1
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)  # the interpreter's own C library, no ldconfig run
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd < 0:
            return
        if libc.inotify_add_watch(fd, directory.encode(), _MOVED_TO | _CLOSE_WRITE | _CREATE | _DELETE) < 0:
            os.close(fd)
            return
        self.fd = fd

    def drain(self) -> None:
        """Forget the events read so far (the caller re-reads state as a whole)."""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(self.fd, 1 << 16):
                pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
