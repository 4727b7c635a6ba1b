"""Forking a container's pid 1 straight into its new namespaces: clone(2) with namespace flags.

Why: ``os.fork`` cannot create namespaces, so ``start`` forks a helper that unshares them and
forks pid 1 (the first process of a new pid namespace must be a child of the unsharer). That is
two copies of the caller's memory, one more process to schedule and one more to tear down before
pid 1 can begin (~2-3 ms of every start on a 2-core machine). clone(2) with the namespace flags
and SIGCHLD, without a new stack, is fork(2) with those namespaces: one copy, and pid 1 is our
own child.

How: the raw syscall through a ``PyDLL`` function (the GIL stays held across it), with Python's
own fork bookkeeping around it as ``os.fork`` does (PyOS_BeforeFork, PyOS_AfterFork_Child and
_Parent: the import lock, the interpreter's thread states, ``os.register_at_fork`` hooks). What
glibc's fork adds and this does not: its atfork handlers, which hold malloc's arena locks across
the fork. So only a caller whose other threads cannot be inside malloc then may use it: the
supervisor (its other threads sleep and write cgroup files with the GIL released; a remove
batch's deletion pool runs ``rmtree`` and opts it out), not the builder.
"""
from __future__ import annotations

import ctypes
import os
import platform
import signal

SYS_CLONE = {"x86_64": 56}.get(platform.machine())  # clone's syscall number (and x86_64's argument order)

_syscall = None


def supported() -> bool:
    return SYS_CLONE is not None


def _raw_syscall():
    global _syscall
    if _syscall is None:
        fn = ctypes.PyDLL(None, use_errno=True).syscall  # PyDLL: called with the GIL held
        fn.restype = ctypes.c_long
        fn.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                       ctypes.c_ulong]
        _syscall = fn
    return _syscall


def fork_into(flags: int) -> int:
    """fork(2) into new namespaces (``CLONE_NEW*`` ``flags``): 0 in the child, its pid in the caller."""
    call = _raw_syscall()
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = call(SYS_CLONE, flags | signal.SIGCHLD, None, None, None, 0)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone: {os.strerror(err)}")
    return pid
