"""Network hooks (prepare, attach, detach, forget, reconcile) run in a child forked on demand.

Why a child: the network manager needs pyroute2, which costs ~15 MiB per
process; the supervisor lives as long as any container runs, but network
work only happens around starts and exits. So the supervisor forks a worker
when it needs one (the child shares the parent's pages), the worker imports
the manager once per burst of starts, and it exits after ``IDLE`` seconds
without work, leaving the long-lived daemon small. A container created is
likely to be started soon: the supervisor then has the worker spawned and
import pyroute2 (``warm``, ~0.3 s) before the start needs it. The embedded DNS server
stays in the supervisor (it must answer while containers run); the worker
tells it which containers need it.
"""
from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import time

from engine.errors import EngineError
from engine.supervisor import protocol

IDLE = 3.0


class Pending:
    """One request sent to the worker; ``result()`` reads replies (in order) until its own is in."""

    __slots__ = ("worker", "op", "done", "value", "error")

    def __init__(self, worker: "NetWorker", op: str):
        self.worker, self.op = worker, op
        self.done, self.value, self.error = False, None, None

    def result(self):
        while not self.done:
            self.worker._read_reply()
        if self.error is not None:
            raise self.error
        return self.value


class NetWorker:
    """The supervisor's side. Requests are pipelined: ``submit`` sends one and returns at once,
    so the worker (another process, another core) prepares the network while the supervisor
    builds the container's spec, and attaches it while the kernel moves pid 1 into its cgroups;
    the worker answers in order, so each ``Pending`` takes the replies before its own."""

    def __init__(self, root_path: str):
        self.root_path = str(root_path)
        self.pid = 0
        self.sock: socket.socket | None = None
        self.reader = None
        self.last_used = 0.0
        self.pending: collections.deque[Pending] = collections.deque()

    # ------------------------------------------------------------------ parent side
    def submit(self, op: str, **args) -> Pending:
        """Send one NetworkManager hook to the worker (started if needed) without waiting."""
        if self.sock is None:
            self._spawn()
        self.last_used = time.monotonic()
        p = Pending(self, op)
        self.pending.append(p)
        try:
            self.sock.sendall(protocol.encode({"op": op, **args}))
        except OSError:
            self._died(op)
        return p

    def call(self, op: str, **args):
        """Run one hook in the worker; its result, or its engine error raised here."""
        return self.submit(op, **args).result()

    def warm(self) -> None:
        """Start the worker and have it import what attaching needs, ahead of a likely start."""
        if self.sock is None:
            self.submit("warm")

    def _read_reply(self) -> None:
        p = self.pending[0]
        try:
            line = self.reader.readline(protocol.MAX_LINE)
        except OSError:
            line = b""
        if not line:
            self._died(p.op)
            return
        self.pending.popleft()
        self.last_used = time.monotonic()
        try:
            p.value = protocol.raise_reply(protocol.decode(line)).get("result")
        except EngineError as e:
            p.error = e
        p.done = True

    def _died(self, op: str) -> None:
        self._fail_pending(EngineError(f"the network worker died during {op} (see the supervisor log)"))
        self.close()

    def _fail_pending(self, error: EngineError) -> None:
        while self.pending:
            p = self.pending.popleft()
            p.error, p.done = error, True

    def idle_for(self) -> float:
        """Seconds since the last request or reply. Requests still open then are ones nobody
        waits for (``warm``, or what a failed start left): closing fails them, harmlessly."""
        if self.sock is None:
            return 0.0
        return time.monotonic() - self.last_used

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
        self._fail_pending(EngineError("the network worker was closed"))

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
    if op == "warm":  # what attach needs, imported while the supervisor is still busy elsewhere
        from pyroute2 import IPRoute  # noqa: F401
        from pyroute2.netlink.exceptions import NetlinkError  # noqa: F401
        return None
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
    if op == "ready":  # spawned ahead of a remove_many: the manager is imported by now
        return None
    if op == "release_many":  # remove_many: every endpoint at once, one lock and one netlink batch
        from engine.network.teardown import release_many

        return release_many(mgr, [str(c) for c in req.get("ids") or []], forget=bool(req.get("forget")))
    if op == "reconcile":
        return list(mgr.reconcile(req.get("live") or []))
    raise EngineError(f"unknown network worker request {op!r}")


def _uses_dns(mgr, cid: str) -> bool:
    """Docker's embedded DNS serves containers on user-defined networks (not the default bridge)."""
    ep = mgr.store.endpoint(cid) or {}
    names = {n.get("Id"): n.get("Name") for n in mgr.store.networks()}
    return any(names.get(e.get("NetworkID")) not in (None, "bridge") for e in ep.get("Networks") or [])
