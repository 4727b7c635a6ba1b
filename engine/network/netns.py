"""Run a function inside another process's network namespace, from a short-lived thread.

setns(CLONE_NEWNET) changes only the calling thread, and sockets (netlink, DNS) stay
bound to the namespace they were created in. So a throw-away thread joins the
container's namespace, creates what it needs and ends: the caller's threads never
change namespace, even when something fails half-way. (Python 3.11 has no os.setns;
engine.sys is another module's job, this is the small piece the network needs.)
"""
from __future__ import annotations

import ctypes
import os
import socket
import threading
from typing import Callable, TypeVar

from engine.errors import NotFound, SystemError_

CLONE_NEWNET = 0x40000000
T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(pid: int) -> str:
    return f"/proc/{pid}/ns/net"


def run_in_netns(pid: int, fn: Callable[[], T]) -> T:
    """``fn()`` executed by a thread that has joined the network namespace of ``pid``."""
    try:
        fd = os.open(netns_path(pid), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"process {pid} does not exist (its container is not running)") from None
    box: dict = {}

    def body() -> None:
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise SystemError_(f"setns into the network namespace of {pid}: {os.strerror(err)}")
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller below
            box["error"] = e

    try:
        t = threading.Thread(target=body, name=f"netns-{pid}", daemon=True)
        t.start()
        t.join()
    finally:
        os.close(fd)
    if "error" in box:
        raise box["error"]
    return box["value"]


def sockets_in_netns(pid: int, specs: list[tuple[int, int, int]]) -> list[socket.socket]:
    """Sockets (family, type, proto) created in the namespace of ``pid``; usable from any thread."""
    def make() -> list[socket.socket]:
        out = []
        try:
            for fam, typ, proto in specs:
                out.append(socket.socket(fam, typ, proto))
        except BaseException:
            for s in out:
                s.close()
            raise
        return out

    return run_in_netns(pid, make)
