"""The supervisor's control socket: one JSON line per request (engine.supervisor.protocol), read
without blocking the loop, dispatched to ``op_<name>``, answered with a typed error or a reply; clients
that wait (stop, wait, events) are watched for hang-ups. ``RequestMixin`` is a base of ``Supervisor``.
"""
from __future__ import annotations

import contextlib
import selectors
import socket
import traceback

from engine.errors import EngineError, InvalidArgument
from engine.supervisor import protocol


def _recv(conn: socket.socket, size: int) -> bytes | None:
    """What the client sent: b"" once it closed (or the socket failed), None when nothing is there yet."""
    try:
        return conn.recv(size)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


class RequestMixin:
    """Accept, read, dispatch, reply, drop."""

    def _on_accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(False)
        self.sel.register(conn, selectors.EVENT_READ, self._make_reader(bytearray()))

    def _make_reader(self, buf: bytearray):
        def on_read(conn: socket.socket) -> None:
            chunk = _recv(conn, 65536)
            if chunk is None:
                return
            if not chunk:
                if buf:  # the client ended its side mid-request
                    self._reply(conn, {"ok": False, "error": "InvalidArgument",
                                       "message": "truncated request: the connection ended before its newline"})
                else:
                    self._drop(conn)
                return
            buf.extend(chunk)
            if b"\n" not in buf:
                if len(buf) > protocol.MAX_LINE:
                    self._reply(conn, {"ok": False, "error": "InvalidArgument",
                                       "message": f"request too long: over {protocol.MAX_LINE} bytes without a newline"})
                return
            line = bytes(buf[:buf.index(b"\n")])
            self._unwatch(conn)
            self.sel.register(conn, selectors.EVENT_READ, self._on_hangup)
            self._dispatch(conn, line)
        return on_read

    def _on_hangup(self, conn: socket.socket) -> None:
        """A client that waits (stop, wait, events) went away: forget it."""
        if _recv(conn, 4096) == b"":
            self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        self._unwatch(conn)
        self.subscribers.pop(conn, None)
        for box in self.boxes.values():
            if conn in box.stop_waiters:
                box.stop_waiters.remove(conn)
            box.waiters = [(c, cond) for c, cond in box.waiters if c is not conn]
        with contextlib.suppress(OSError):
            conn.close()

    def _send(self, conn: socket.socket, obj: dict) -> bool:
        data = protocol.encode(obj)
        try:
            conn.setblocking(True)
            conn.settimeout(5)
            conn.sendall(data)
            conn.setblocking(False)
            return True
        except OSError:
            self._drop(conn)
            return False

    def _reply(self, conn: socket.socket, obj: dict) -> None:
        if self._send(conn, obj):
            self._drop(conn)

    def _dispatch(self, conn: socket.socket, line: bytes) -> None:
        try:
            req = protocol.decode(line)
            protocol.check_request(req)
            op = req.get("op")
            handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
            if handler is None:
                raise InvalidArgument(f"unknown supervisor request {op!r}")
            reply = handler(conn, req)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller as a typed error
            if not isinstance(e, EngineError):
                traceback.print_exc()
            self._reply(conn, protocol.error_reply(e))
            return
        if reply is not None:
            self._reply(conn, dict(reply, ok=True))
