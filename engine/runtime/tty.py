"""Pseudo-terminals for ``-t``: allocated inside the container's own devpts.

Why inside: a pty from the host's /dev/pts shows up in the container as a
path that does not exist there (``tty`` says "not a tty", ``ttyname`` fails).
Opening the container's /dev/pts/ptmx (through /proc/<pid>/root) and taking
the peer with TIOCGPTPEER gives a slave that is /dev/pts/N *in the container*,
as runc's console does, without resolving any path inside the container.
"""
from __future__ import annotations

import fcntl
import os
import struct
import termios

from engine import sys as ksys


def open_pty(root: str = "/") -> tuple[int, int]:
    """(master, slave) of a new pty on the devpts instance under ``root`` (e.g. /proc/PID/root)."""
    master = os.open(os.path.join(root, "dev/pts/ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, ksys.TIOCSPTLCK, struct.pack("i", 0))
        slave = fcntl.ioctl(master, ksys.TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except BaseException:
        os.close(master)
        raise
    return master, slave


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_winsize(fd: int) -> tuple[int, int]:
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return rows, cols
