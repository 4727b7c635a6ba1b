"""Per-query timing of the embedded DNS server, switched on by bench/network.py.

Why: a client only sees a round trip; to know where a slow answer lost its time, each UDP query
is split at the server into: waiting (the kernel's receive timestamp, SO_TIMESTAMPNS, to the
moment the server read it: wake-up, scheduling, the GIL, queries ahead of it), the state check
(which table to answer from; a generation stat only without the directory watch), the answer
(parse, name table, pack) and the send.
Off by default: the plain loop reads with recvfrom and never looks at a clock.
"""
from __future__ import annotations

import collections
import contextlib
import socket
import struct
import time

from engine.network import dnswire as wire

SO_TIMESTAMPNS = 35  # Linux; the socket module does not name it
PHASES = ("waiting", "state check", "answer", "send", "in server")


class Profile:
    def __init__(self):
        self.samples: dict[str, list[int]] = {p: [] for p in PHASES}
        self.counters: collections.Counter[str] = collections.Counter()

    @staticmethod
    def watch(udp: socket.socket) -> None:
        with contextlib.suppress(OSError):
            udp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    @staticmethod
    def unwatch(udp: socket.socket) -> None:
        with contextlib.suppress(OSError):
            udp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)

    def count(self, what: str) -> None:
        self.counters[what] += 1

    def on_udp(self, server, sock: socket.socket, cid: str) -> None:
        """``server._on_udp`` with clocks: the same steps, each one timed."""
        try:
            data, anc, _, peer = sock.recvmsg(4096, 64)
        except (BlockingIOError, InterruptedError):
            return
        t_read = time.time_ns()
        arrived = _kernel_time(anc)
        table = server.current_table()
        t_state = time.time_ns()
        memo = len(table.memo) if table is not None else 0
        reply = server.answer_from(table, data, cid)
        t_answer = time.time_ns()
        if reply is None:
            self.count("forwarded")
            server.forward_later(sock, peer, data, cid)
            return
        with contextlib.suppress(OSError):
            sock.sendto(reply, peer)
        t_sent = time.time_ns()
        self._note(data, table, memo, arrived, t_read, t_state, t_answer, t_sent)

    def _note(self, data, table, memo, arrived, t_read, t_state, t_answer, t_sent) -> None:
        s = self.samples
        if arrived:
            s["waiting"].append(t_read - arrived)
        s["state check"].append(t_state - t_read)
        s["answer"].append(t_answer - t_state)
        s["send"].append(t_sent - t_answer)
        s["in server"].append(t_sent - t_read)
        self.count("answered")
        if wire.parse_query(data) is None:
            self.count("parsed by dnslib")
        elif table is not None and len(table.memo) > memo:
            self.count("answer packed (first ask)")

    def summary(self) -> dict:
        """Per phase: n, p50, p99 and max in microseconds; plus the counters."""
        out: dict = {"phases": {}, "counters": dict(self.counters)}
        for phase, xs in self.samples.items():
            if xs:
                xs = sorted(xs)
                out["phases"][phase] = {"n": len(xs), "p50": xs[len(xs) // 2] / 1000,
                                        "p99": xs[int(len(xs) * 0.99)] / 1000, "max": xs[-1] / 1000}
        return out


def _kernel_time(anc) -> int:
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            sec, nsec = struct.unpack("qq", payload[:16])
            return sec * 1_000_000_000 + nsec
    return 0
