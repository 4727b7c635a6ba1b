"""The embedded DNS server in a process of its own, forked by the supervisor.

Why a process: in the supervisor's process the DNS thread shares the GIL with the daemon's loop
(output pumping, healthchecks, starts); a query that arrives while the loop runs Python waits
for the GIL's switch interval (5 ms), which is what a p99 latency is made of. The child runs
only the DNS loop, with the control socket as one more fd in its selector.

``DnsProcess`` has DnsServer's interface (start, add_container, remove_container, containers,
stop, set_profile), so the supervisor keeps its calls: each is one JSON line to the child and
one reply, synchronous, so a container's socket is bound in its namespace before its process
runs and a failure to listen is raised here as before. The child exits when the control socket
closes (the supervisor stopped or was killed); if the child died, the next call forks another,
which re-opens the sockets of every running container from network state.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import time

from engine import errors
from engine.errors import EngineError
from engine.state import DataRoot

MAX_LINE = 1 << 16
CONTROL_FD = 3  # the child's end of the control socket


class DnsProcess:
    def __init__(self, root: DataRoot | str | None = None, upstreams: list[tuple[str, int]] | None = None):
        self.root_path = str(root.path if isinstance(root, DataRoot) else DataRoot(root).path)
        self.upstreams = upstreams
        self.pid = 0
        self.sock: socket.socket | None = None
        self._reader = None

    # ------------------------------------------------------------------ parent side
    def start(self) -> None:
        if self.sock is None:
            self._spawn()
            self._call("ping")  # the child has read state and opened the sockets it knows of

    def add_container(self, container_id: str, pid: int) -> None:
        self._call("add", id=container_id, pid=int(pid))

    def remove_container(self, container_id: str) -> None:
        self._call("remove", id=container_id)

    def containers(self) -> list[str]:
        return list(self._call("containers") or [])

    def set_profile(self, on: bool) -> dict | None:
        return self._call("profile", on=bool(on))

    def stop(self) -> None:
        """Close the control socket (the child exits on EOF) and reap the child."""
        conn, reader, pid = self.sock, self._reader, self.pid
        if conn is None:
            return
        self.sock, self._reader, self.pid = None, None, 0
        for f in (reader, conn):  # the reader holds a reference on the socket's fd too
            f.close()
        _reap(pid)

    def _call(self, op: str, **args):
        for attempt in (1, 2):
            if self.sock is None:
                self._spawn()
            try:
                self.sock.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
                line = self._reader.readline(MAX_LINE)
            except OSError:
                line = b""
            if line:
                reply = json.loads(line)
                if not reply.get("ok"):
                    cls = getattr(errors, str(reply.get("type")), None)
                    if not (isinstance(cls, type) and issubclass(cls, EngineError)):
                        cls = EngineError
                    raise cls(reply.get("error") or f"embedded DNS: {op} failed")
                return reply.get("result")
            self.stop()  # the child died: a fresh one takes over (it reads state anew)
        raise EngineError(f"the embedded DNS process died during {op} (see the supervisor log)")

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        owner = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: keeps only stdio and its end, as fd 3
            status = 1
            try:
                _die_with(owner)
                os.setsid()  # a session (so a scheduler autogroup) of its own, as the supervisor has
                gc.freeze()  # the inherited objects stay shared: the GC never walks (and so copies) them
                os.dup2(theirs.fileno(), CONTROL_FD)
                os.closerange(CONTROL_FD + 1, 1 << 30)  # close_range(2): every fd of the supervisor
                _serve(socket.socket(fileno=CONTROL_FD), self.root_path, self.upstreams)
                status = 0
            except BaseException:  # noqa: BLE001 - the traceback goes to the supervisor's log
                import traceback

                traceback.print_exc()
            os._exit(status)
        theirs.close()
        self.pid, self.sock = pid, ours
        self._reader = ours.makefile("rb")


def _die_with(owner: int) -> None:
    """SIGKILL when the owner dies (not only EOF, which waits for this process to be scheduled):
    its successor binds 127.0.0.11:53 in the same namespaces right away. The signal follows the
    thread that forked, so the owner forks from its long-lived thread (the supervisor's loop)."""
    from engine import sys as ksys

    ksys.set_pdeathsig(signal.SIGKILL)
    if os.getppid() != owner:
        os._exit(0)  # it died before the signal was armed


def _reap(pid: int, patience: float = 5.0) -> None:
    """Wait for the child to exit after EOF; one stuck (in a forward, say) is killed."""
    deadline = time.monotonic() + patience
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            patience, deadline = 0, time.monotonic() + 60
        time.sleep(0.005)


# ---------------------------------------------------------------------- child side
def _serve(sock: socket.socket, root_path: str, upstreams) -> None:
    """The child: the DNS loop in its main thread, the supervisor's requests one per line."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C to the bench or a test stops the parent, which closes us
    with contextlib.suppress(Exception):
        from engine import sys as ksys

        ksys.set_name("pycompose-dns")
    from engine.network.dns import DnsServer

    server = DnsServer(root_path, upstreams=[tuple(u) for u in upstreams] if upstreams is not None else None)
    Control(server, sock).serve()


class Control:
    """The child's end of the control socket: reads whole lines as they come, answers each."""

    def __init__(self, server, sock: socket.socket):
        self.server, self.sock, self.buf = server, sock, b""

    def serve(self) -> None:
        self.server.serve(self.sock, self.on_readable)

    def on_readable(self) -> None:
        try:
            chunk = self.sock.recv(MAX_LINE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.server.request_stop()  # the supervisor is gone
            return
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self._reply(self._handle(line))

    def _handle(self, line: bytes) -> dict:
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "ping":
                return {"ok": True}
            if op == "add":
                self.server.add_container(str(req["id"]), int(req["pid"]))
                return {"ok": True}
            if op == "remove":
                self.server.remove_container(str(req["id"]))
                return {"ok": True}
            if op == "containers":
                return {"ok": True, "result": self.server.containers()}
            if op == "profile":
                return {"ok": True, "result": self.server.set_profile(bool(req.get("on")))}
            return {"ok": False, "error": f"unknown embedded DNS request {op!r}"}
        except EngineError as e:  # its class travels by name (engine.errors), like the supervisor's replies
            return {"ok": False, "error": str(e), "type": type(e).__name__}
        except Exception as e:  # noqa: BLE001 - every failure goes back as text
            return {"ok": False, "error": f"embedded DNS: {type(e).__name__}: {e}"}

    def _reply(self, reply: dict) -> None:
        data = json.dumps(reply).encode() + b"\n"
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        except OSError:
            self.server.request_stop()
        finally:
            self.sock.setblocking(False)
