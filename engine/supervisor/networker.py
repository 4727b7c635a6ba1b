"""Network hooks (prepare, attach, detach, forget, reconcile) run in a child forked on demand.

Why a child: the network manager needs pyroute2, which costs ~15 MiB per
process; the supervisor lives as long as any container runs, but network
work only happens around starts and exits. So the supervisor forks a worker
when it needs one (the child shares the parent's pages), the worker imports
the manager once per burst of starts, and it exits after ``IDLE`` seconds
without work, leaving the long-lived daemon small. The embedded DNS server
stays in the supervisor (it must answer while containers run); the worker
tells it which containers need it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import time

from engine.errors import EngineError
from engine.supervisor import protocol

IDLE = 3.0


class NetWorker:
    def __init__(self, root_path: str):
        self.root_path = str(root_path)
        self.pid = 0
        self.sock: socket.socket | None = None
        self.reader = None
        self.last_used = 0.0

    # ------------------------------------------------------------------ parent side
    def call(self, op: str, **args):
        """Run one NetworkManager hook in the worker; its result, or its engine error raised here."""
        if self.sock is None:
            self._spawn()
        self.last_used = time.monotonic()
        try:
            self.sock.sendall(protocol.encode({"op": op, **args}))
            line = self.reader.readline(protocol.MAX_LINE)
        except OSError:
            line = b""
        if not line:
            self.close()
            raise EngineError(f"the network worker died during {op} (see the supervisor log)")
        return protocol.raise_reply(protocol.decode(line)).get("result")

    def idle_for(self) -> float:
        return time.monotonic() - self.last_used if self.sock is not None else 0.0

    def close(self) -> None:
        """End the worker (it exits on EOF) and reap it."""
        if self.sock is None:
            return
        with contextlib.suppress(OSError):
            self.reader.close()
        self.sock.close()
        self.sock = self.reader = None
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self.pid = 0

    def _spawn(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            try:
                parent.close()
                fd = child.fileno()
                os.closerange(3, fd)
                os.closerange(fd + 1, _max_fd())
                _serve(child, self.root_path)
            finally:
                os._exit(0)
        child.close()
        self.pid, self.sock = pid, parent
        self.reader = parent.makefile("rb")


def _max_fd() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65536


# ---------------------------------------------------------------------- child side
def _serve(sock: socket.socket, root_path: str) -> None:
    """The worker's loop: one request per line until the supervisor closes the socket."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        from engine import sys as ksys

        ksys.set_name("pycompose-net")
    from engine.network.manager import NetworkManager

    mgr = NetworkManager(root_path)
    reader = sock.makefile("rb")
    profile = os.environ.get("PYCOMPOSE_SUPERVISOR_PROFILE")  # the daemon's option: this worker's own stats
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    try:
        for line in reader:
            try:
                req = protocol.decode(line)
                reply = {"ok": True, "result": _handle(mgr, req)}
            except BaseException as e:  # noqa: BLE001 - every failure goes back typed
                reply = protocol.error_reply(e)
            sock.sendall(protocol.encode(reply))
    finally:
        if prof is not None:
            prof.disable()
            prof.dump_stats(f"{profile}.net-{os.getpid()}")


def _handle(mgr, req: dict):
    op = req.get("op")
    if op == "prepare":
        mgr.prepare(req["record"])
        return None
    if op == "attach":
        rec = req["record"]
        mgr.attach(rec, int(req["pid"]))
        return _uses_dns(mgr, rec["Id"])
    if op == "detach":
        mgr.detach(req["record"])
        return None
    if op == "forget":
        mgr.forget(req["record"])
        return None
    if op == "reconcile":
        return list(mgr.reconcile(req.get("live") or []))
    raise EngineError(f"unknown network worker request {op!r}")


def _uses_dns(mgr, cid: str) -> bool:
    """Docker's embedded DNS serves containers on user-defined networks (not the default bridge)."""
    ep = mgr.store.endpoint(cid) or {}
    names = {n.get("Id"): n.get("Name") for n in mgr.store.networks()}
    return any(names.get(e.get("NetworkID")) not in (None, "bridge") for e in ep.get("Networks") or [])
