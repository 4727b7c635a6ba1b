"""The kernel calls a container's setup makes (rootfs mounts, process identity, exec), behind one
object.

Why: that code runs as root in a forked child and does what a test process cannot undo (pivot_root,
setresuid, capset, execve). Going through ``current()`` lets a test swap in a recording fake with
``use(fake)`` and check which calls are made, in which order, with which flags, without root;
the real object is engine.sys (ctypes) and os, unchanged.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

from engine import sys as ksys

__all__ = ["Kernel", "current", "use"]


class Kernel:
    """The real calls. Mounts and namespaces (rootfs.py), then identity and exec (process.py)."""

    mount = staticmethod(ksys.mount)
    umount2 = staticmethod(ksys.umount2)
    pivot_root = staticmethod(ksys.pivot_root)
    mknod = staticmethod(ksys.mknod)
    setns = staticmethod(ksys.setns)
    open_tree = staticmethod(ksys.open_tree)
    move_mount_fd = staticmethod(ksys.move_mount_fd)

    capget = staticmethod(ksys.capget)
    seccomp_filter = staticmethod(ksys.seccomp_filter)
    prctl = staticmethod(ksys.prctl)
    capbset_drop = staticmethod(ksys.capbset_drop)
    setgroups = staticmethod(ksys.setgroups)
    setresgid = staticmethod(os.setresgid)
    setresuid = staticmethod(os.setresuid)
    capset = staticmethod(ksys.capset)
    clear_ambient_caps = staticmethod(ksys.clear_ambient_caps)
    set_no_new_privs = staticmethod(ksys.set_no_new_privs)
    execve = staticmethod(os.execve)


_current: Kernel = Kernel()


def current() -> Kernel:
    """The kernel rootfs and process setup talk to (the real one unless a test said otherwise)."""
    return _current


@contextlib.contextmanager
def use(kernel) -> Iterator:
    """Route the setup's kernel calls to ``kernel`` (a test's fake) for a ``with`` block."""
    global _current
    previous, _current = _current, kernel
    try:
        yield kernel
    finally:
        _current = previous
