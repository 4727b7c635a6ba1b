"""``SupervisorClient``: what the engine API calls to start, stop and watch containers.

Why a client and not direct calls: container processes belong to the
detached supervisor daemon of the data root (so they outlive the CLI); the
client starts it on demand and talks to it over ``$ROOT/run/supervisor.sock``
(one JSON request per connection; replies carry typed engine errors).

It speaks through ``_socket`` and reads lines itself (``_Lines``): the ``socket`` module's import
(selectors, array, its enum conversions) is ~2 ms of every command that talks to the daemon, for
a connect, a send and line reads that ``_socket`` already offers.
"""
from __future__ import annotations

import _socket
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from engine.errors import EngineError, InvalidArgument
from engine.state import DataRoot
from engine.supervisor import protocol

# argv: python3 -c BOOT pycompose-supervisor <root>: the daemon's cmdline names it (the leak check and
# Engine.supervisor_running look for it), and no separate script file has to be installed
BOOT = "import sys; from engine.supervisor.daemon import main; sys.exit(main(sys.argv[2:]))"
START_TIMEOUT = 60.0


class _Lines:
    """The lines a connection receives, each read whole (as ``makefile("rb").readline`` does)."""

    def __init__(self, sock: _socket.socket):
        self.sock, self.buf = sock, b""

    def readline(self, limit: int = protocol.MAX_LINE) -> bytes:
        """The next line with its newline; at most ``limit`` bytes of a longer one; b"" at the end."""
        while True:
            end = self.buf.find(b"\n", 0, limit)
            if end >= 0 or len(self.buf) >= limit:
                cut = end + 1 if end >= 0 else limit
                line, self.buf = self.buf[:cut], self.buf[cut:]
                return line
            data = self.sock.recv(65536)
            if not data:
                line, self.buf = self.buf, b""
                return line
            self.buf += data

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class SupervisorClient:
    def __init__(self, root: str | os.PathLike | DataRoot | None = None):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.sock_path = self.root.path / "run" / "supervisor.sock"
        self.log_path = self.root.path / "run" / "supervisor.log"
        self.pid_path = self.root.path / "run" / "supervisor.pid"

    # ------------------------------------------------------------------ connection
    def _connect(self, timeout: float | None = 30.0) -> _socket.socket:
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        s.settimeout(timeout)
        try:
            s.connect(str(self.sock_path))
        except OSError:
            s.close()
            raise
        return s

    def running_pid(self) -> int | None:
        """The daemon's pid when it answers, else None."""
        try:
            return int(self._call({"op": "ping"}, start=False).get("pid") or 0) or None
        except (OSError, EngineError):
            return None

    def status(self) -> dict:
        """What the running daemon holds: pid, boxes, running, dns_containers, fds, rss_kib (tests)."""
        return self._call({"op": "ping", "status": True}, start=False)

    def ensure_running(self) -> int:
        """Start this root's supervisor unless it runs; returns its pid."""
        pid = self.running_pid()
        if pid:
            return pid
        with self.root.lock("supervisor"):
            pid = self.running_pid()
            if pid:
                return pid
            import subprocess  # only to start the daemon: not imported by each command that finds it running

            self.root.dir("run")
            with open(self.log_path, "ab") as log:
                env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
                repo = str(Path(__file__).resolve().parents[2])
                env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
                proc = subprocess.Popen([sys.executable, "-c", BOOT, "pycompose-supervisor", str(self.root.path)],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                                        env=env, close_fds=True, start_new_session=True)
                try:
                    rc = proc.wait(timeout=START_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    rc = -1
            if rc != 0:
                raise EngineError(f"the container supervisor did not start: {self._log_tail()}")
            pid = self.running_pid()
            if not pid:
                raise EngineError(f"the container supervisor does not answer: {self._log_tail()}")
            return pid

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return f"no log at {self.log_path}"
        return (lines[-1] if lines else "no output") + f" (see {self.log_path})"

    def _call(self, req: dict, start: bool = True, timeout: float | None = 30.0) -> dict:
        """Send one request and read its one reply."""
        try:
            s = self._connect()
        except OSError:
            if not start:
                raise
            self.ensure_running()
            s = self._connect()
        try:
            s.settimeout(timeout)
            s.sendall(protocol.encode(req))
            try:
                line = _Lines(s).readline()
            except TimeoutError:
                raise TimeoutError(f"timed out waiting for the supervisor ({req.get('op')})") from None
        finally:
            s.close()
        if not line:
            raise EngineError(f"the container supervisor closed the connection during {req.get('op')} "
                              f"(see {self.log_path})")
        return protocol.raise_reply(protocol.decode(line))

    # ------------------------------------------------------------------ verbs
    def start(self, cid: str) -> None:
        self._call({"op": "start", "id": cid}, timeout=None)

    def start_many(self, cids: list[str]) -> dict[str, EngineError]:
        """Start ``cids`` with one request (the daemon starts them in order, each as ``start``
        does); returns the error of each one that failed, by id: the others run."""
        failed: dict[str, EngineError] = {}
        try:
            reply = self._call({"op": "start_many", "ids": list(cids)}, timeout=None)
        except InvalidArgument as e:  # a daemon started before an upgrade: one request per container
            if "unknown supervisor request" not in str(e):
                raise
            for cid in cids:
                try:
                    self.start(cid)
                except EngineError as err:
                    failed[cid] = err
            return failed
        for r in reply.get("results") or []:
            if not r.get("ok"):
                try:
                    protocol.raise_reply(r)
                except EngineError as e:
                    failed[r.get("id") or ""] = e
        return failed

    def stop(self, cid: str, timeout: int | None = None, signal: str | int | None = None) -> None:
        """Stop signal, then SIGKILL after ``timeout`` s (StopTimeout, or 10); returns once it is down."""
        self._call({"op": "stop", "id": cid, "timeout": timeout, "signal": signal}, timeout=None)

    def kill(self, cid: str, signal: str | int = "SIGKILL") -> None:
        self._call({"op": "kill", "id": cid, "signal": signal}, timeout=None)

    def restart(self, cid: str, timeout: int | None = None, signal: str | int | None = None) -> None:
        self._call({"op": "restart", "id": cid, "timeout": timeout, "signal": signal}, timeout=None)

    def pause(self, cid: str) -> None:
        self._call({"op": "pause", "id": cid})

    def unpause(self, cid: str) -> None:
        self._call({"op": "unpause", "id": cid})

    def wait(self, cid: str, condition: str = "not-running", timeout: float | None = None) -> int:
        """The exit code once ``condition`` holds; TimeoutError after ``timeout`` seconds."""
        reply = self._call({"op": "wait", "id": cid, "condition": condition}, timeout=timeout)
        return int(reply.get("StatusCode") or 0)

    def remove_many(self, waves: list[list[dict]], volumes: bool = False) -> Iterator[dict]:
        """Stop (wave by wave: {"id", "timeout", "signal"}) and remove containers in one request
        (engine.supervisor.removal); yields {"id", "event": stopping|stopped|removing|removed|error}
        as they happen, then {"done": True, ...}."""
        return self._stream({"op": "remove_many", "waves": waves, "volumes": bool(volumes)})

    def notify(self, event: dict) -> None:
        """Publish ``event`` through the running daemon; OSError when none runs (none is started)."""
        self._call({"op": "notify", "event": event}, start=False)

    def shutdown(self, timeout: int | None = None) -> None:
        """Stop every container, then the daemon; returns once it has exited (no-op when not running)."""
        pid = self.running_pid()
        if not pid:
            return
        try:
            self._call({"op": "shutdown", "timeout": timeout}, start=False, timeout=None)
        except (OSError, EngineError):
            pass
        _wait_gone(pid)

    def events(self, filters: dict | None = None, since: Any = None, until: Any = None) -> Iterator[dict]:
        """Docker events as they happen (after the ones since ``since``); ends at ``until`` if given."""
        from engine.supervisor.events import check_filters, since_until_ns

        req = {"op": "events", "filters": check_filters(filters), "since": since_until_ns(since),
               "until": since_until_ns(until)}
        return self._stream(req)

    def _stream(self, req: dict) -> Iterator[dict]:
        try:
            s = self._connect()
        except OSError:
            self.ensure_running()
            s = self._connect()
        try:
            s.settimeout(None)
            s.sendall(protocol.encode(req))
            lines = _Lines(s)
            first = lines.readline()
            if not first:
                raise EngineError(f"the container supervisor closed the event stream (see {self.log_path})")
            protocol.raise_reply(protocol.decode(first))
            for line in lines:
                with contextlib.suppress(EngineError):
                    yield protocol.decode(line)
        finally:
            s.close()


def _wait_gone(pid: int) -> None:
    """Block until ``pid`` has exited (pidfd; it is not our child)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [], 60)
    finally:
        os.close(fd)
