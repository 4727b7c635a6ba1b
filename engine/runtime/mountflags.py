"""Mount flag helpers shared by the rootfs setup and tests.

Why: a bind remount (read-only, propagation) must keep the flags the source
already has (nosuid, nodev, noexec...), or the kernel refuses it (locked
flags) or silently widens what the container may do.
"""
from __future__ import annotations

import os

from engine import sys as ksys

_ST_TO_MS = (
    (os.ST_RDONLY, ksys.MS_RDONLY),
    (os.ST_NOSUID, ksys.MS_NOSUID),
    (os.ST_NODEV, ksys.MS_NODEV),
    (os.ST_NOEXEC, ksys.MS_NOEXEC),
    (os.ST_NOATIME, ksys.MS_NOATIME),
    (os.ST_NODIRATIME, ksys.MS_NODIRATIME),
    (os.ST_RELATIME, ksys.MS_RELATIME),
)

PROPAGATION = {
    "private": ksys.MS_PRIVATE,
    "rprivate": ksys.MS_PRIVATE | ksys.MS_REC,
    "shared": ksys.MS_SHARED,
    "rshared": ksys.MS_SHARED | ksys.MS_REC,
    "slave": ksys.MS_SLAVE,
    "rslave": ksys.MS_SLAVE | ksys.MS_REC,
}

# tmpfs / mount option words -> (flag to set, flag to clear)
OPTION_FLAGS = {
    "ro": (ksys.MS_RDONLY, 0), "rw": (0, ksys.MS_RDONLY),
    "nosuid": (ksys.MS_NOSUID, 0), "suid": (0, ksys.MS_NOSUID),
    "nodev": (ksys.MS_NODEV, 0), "dev": (0, ksys.MS_NODEV),
    "noexec": (ksys.MS_NOEXEC, 0), "exec": (0, ksys.MS_NOEXEC),
    "noatime": (ksys.MS_NOATIME, 0), "atime": (0, ksys.MS_NOATIME),
    "nodiratime": (ksys.MS_NODIRATIME, 0), "diratime": (0, ksys.MS_NODIRATIME),
    "relatime": (ksys.MS_RELATIME, 0), "norelatime": (0, ksys.MS_RELATIME),
    "strictatime": (ksys.MS_STRICTATIME, 0), "sync": (ksys.MS_SYNCHRONOUS, 0),
    "async": (0, ksys.MS_SYNCHRONOUS), "dirsync": (ksys.MS_DIRSYNC, 0),
}


def current_flags(path: str) -> int:
    """The per-mount flags of the mount holding ``path``, as MS_* bits."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in _ST_TO_MS:
        if f & st:
            out |= ms
    return out


def parse_options(words: list[str], flags: int = 0) -> tuple[int, list[str]]:
    """Split mount option words into MS_* flags and filesystem data (size=, mode=...)."""
    data = []
    for w in words:
        w = w.strip()
        if not w:
            continue
        if w in OPTION_FLAGS:
            on, off = OPTION_FLAGS[w]
            flags = (flags | on) & ~off
        else:
            data.append(w)
    return flags, data
