"""Embedded DNS at 127.0.0.11 for containers on user-defined networks.

One server (a selector loop) serves every container: for each one it owns a UDP and a TCP
socket that a short-lived thread created inside the container's network namespace, so a
query's socket tells which container asks, and therefore which networks (scope) its answer may
come from. Names: container name, aliases (Compose's service name is one, so every running
replica answers), short id, hostname, ``name.network``, and the container's legacy links.
Unknown single-label names (and ``x.<network>``) get NXDOMAIN; other names are forwarded to
the container's ``dns`` servers or the host's resolvers.

The hot path (a plain query for a name of ours) costs a stat of the generation file, a dict
lookup in the in-memory name table (engine.network.dnstable: answers pre-packed) and a slice of
the query (engine.network.dnswire); dnslib only sees what that parser refuses. The table is
rebuilt when the store's generation changes, checked before every query, so a container
started a moment ago resolves at once in the others. In the supervisor the server runs in a
process of its own (engine.network.dnsproc), so a busy daemon never holds the GIL it needs.
"""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import select
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from engine.errors import EngineError
from engine.network import dnswire as wire
from engine.network import hostfiles
from engine.network.dnsprofile import Profile
from engine.network.dnswatch import DirectoryWatch
from engine.network.dnstable import FORWARD, TTL, NameTable, RecordFiles
from engine.network.names import DNS_ADDRESS
from engine.network.netns import sockets_in_netns
from engine.network.store import Store
from engine.state import DataRoot

__all__ = ["DnsServer", "TTL", "FORWARD_TIMEOUT", "is_ipv4"]

FORWARD_TIMEOUT = 2.0
TICK = 0.5  # seconds between the loop's housekeeping rounds (state followed, busy sockets retried)


class DnsServer:
    """Start with ``start()`` (a thread of its own) or ``serve(control)`` (the calling thread);
    ``add_container``/``remove_container`` as containers come and go (it also follows state by
    itself); ``stop()`` closes every socket."""

    def __init__(self, root: DataRoot | str | None = None, upstreams: list[tuple[str, int]] | None = None,
                 port: int = 53, address: str = DNS_ADDRESS, resolv_conf: str = "/etc/resolv.conf"):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.store = Store(self.root)
        self.port, self.address = port, address
        if upstreams is None:
            try:
                with open(resolv_conf) as f:
                    upstreams = [(ns, 53) for ns in hostfiles.host_upstreams(f.read())]
            except OSError:
                upstreams = []
        self.upstreams = list(upstreams)
        self._gen_path = str(self.store.generation_path())
        self._net_files = RecordFiles(str(self.store.dir))
        self._ep_files = RecordFiles(str(self.store.ep_dir))
        self._poll = select.epoll()
        self._fds: dict[int, tuple[str, object, object]] = {}  # fd -> (kind, file object, data)
        self._socks: dict[str, tuple[int, socket.socket, socket.socket]] = {}
        self._lock = threading.RLock()
        self._gen: tuple | None = None
        self._table: NameTable | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._watch(self._wake_r, "wake", None)
        self._changes = DirectoryWatch(str(self.store.dir))  # the generation file is replaced there
        self.profile: Profile | None = None
        self._busy: set[str] = set()  # containers whose 127.0.0.11:53 was still taken

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._refresh()
        self._thread = threading.Thread(target=self._loop, name="pycompose-dns", daemon=True)
        self._thread.start()

    def serve(self, control: socket.socket, on_control) -> None:
        """Run the loop in this thread; ``on_control()`` is called when ``control`` is readable
        (engine.network.dnsproc: the supervisor's requests). Returns once ``stop()`` was called."""
        control.setblocking(False)
        self._watch(control, "ctl", on_control)
        self._refresh_quietly()
        try:
            self._loop()
        finally:
            self._shutdown()

    def stop(self) -> None:
        """Stop the loop (from any thread but the loop's own: see ``request_stop``), close every socket."""
        self.request_stop()
        if self._thread:
            self._thread.join(timeout=5)
        self._shutdown()

    def request_stop(self) -> None:
        """Make the loop return after the event it is handling (``serve`` then cleans up)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _shutdown(self) -> None:
        with self._lock:
            for cid in list(self._socks):
                self._close(cid)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._poll.close()
        self._changes.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def add_container(self, container_id: str, pid: int) -> None:
        """Open 127.0.0.11:53 (udp+tcp) inside the container's namespace."""
        with self._lock:
            cur = self._socks.get(container_id)
            if cur and cur[0] == pid:
                return
            if cur:
                self._close(container_id)
            udp, tcp = sockets_in_netns(pid, [(socket.AF_INET, socket.SOCK_DGRAM, 0),
                                              (socket.AF_INET, socket.SOCK_STREAM, 0)])
            try:
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                udp.bind((self.address, self.port))
                tcp.bind((self.address, self.port))
                tcp.listen(64)
                udp.setblocking(False)
                tcp.setblocking(False)
            except OSError as e:
                udp.close()
                tcp.close()
                if e.errno == errno.EADDRINUSE:
                    self._busy.add(container_id)  # retried on the idle tick (see _refresh_quietly)
                raise EngineError(f"embedded DNS cannot listen on {self.address}:{self.port} in container "
                                  f"{container_id[:12]}: {e.strerror}") from None
            if self.profile is not None:
                self.profile.watch(udp)
            self._socks[container_id] = (pid, udp, tcp)
            self._watch(udp, "udp", container_id)
            self._watch(tcp, "tcp", container_id)
        self._gen = None  # make the next query re-read state

    def remove_container(self, container_id: str) -> None:
        with self._lock:
            self._close(container_id)
        self._gen = None

    def containers(self) -> list[str]:
        with self._lock:
            return list(self._socks)

    def _close(self, cid: str) -> None:
        entry = self._socks.pop(cid, None)
        if not entry:
            return
        for s in entry[1:]:
            self._fds.pop(s.fileno(), None)
            with contextlib.suppress(OSError, ValueError):
                self._poll.unregister(s)
            s.close()

    # ---------------------------------------------------------------- profile
    def set_profile(self, on: bool) -> dict | None:
        """Time each UDP query (kernel arrival, state check, answer, send) from now on; turning
        it off returns the summary (bench/network.py prints it)."""
        with self._lock:
            reads = self._net_files.reads + self._ep_files.reads
            if on:
                self.profile = Profile()
                self.profile.counters["record files read"] = -reads
                for _, udp, _ in self._socks.values():
                    self.profile.watch(udp)
                return None
            prof, self.profile = self.profile, None
            for _, udp, _ in self._socks.values():
                Profile.unwatch(udp)
            if prof is None:
                return None
            prof.counters["record files read"] += reads
            return prof.summary()

    # ---------------------------------------------------------------- state
    def _refresh(self) -> NameTable:
        try:
            st = os.stat(self._gen_path)
            gen = (st.st_mtime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            gen = (0, 0, 0)
        if self._table is None or gen != self._gen:
            # files are replaced atomically: no lock needed to read them
            self._table = NameTable(self._net_files.records(), self._ep_files.records())
            self._gen = gen
            if self.profile is not None:
                self.profile.count("table rebuilds")
            self._sync_sockets(self._table)
        return self._table

    def _sync_sockets(self, table: NameTable) -> None:
        """Follow state: sockets for running containers on user networks, none for the others."""
        with self._lock:
            for cid in list(self._socks):
                if cid not in table.scope:
                    self._close(cid)
        for cid, pid in table.pids.items():
            if cid not in self._socks or self._socks[cid][0] != pid:
                with contextlib.suppress(EngineError, OSError):
                    self.add_container(cid, pid)

    # ---------------------------------------------------------------- loop
    def _watch(self, fileobj, kind: str, data) -> None:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        self._fds[fd] = (kind, fileobj, data)
        self._poll.register(fd, select.EPOLLIN)

    def _loop(self) -> None:
        """One read per readable socket per poll: a query read here was reported by this poll,
        so a state change made before it was sent is in the same poll's events (the directory
        watch) and handled first; the per-query state check is then no syscall at all."""
        tick = time.monotonic() + TICK
        changes = self._changes.fd
        if changes >= 0:
            self._poll.register(changes, select.EPOLLIN)
        while not self._stop.is_set():
            try:
                events = self._poll.poll(max(0.0, tick - time.monotonic()))
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                continue
            if changes >= 0 and any(fd == changes for fd, _ in events):
                self._changes.drain()
                self._refresh_quietly()
            if time.monotonic() >= tick:  # also under a steady stream of queries
                self._refresh_quietly()  # follow state (sockets of containers started elsewhere)
                tick = time.monotonic() + TICK
            for fd, _ in events:
                entry = self._fds.get(fd)
                if entry is not None:
                    self._handle(*entry)
                if self._stop.is_set():
                    return

    def _handle(self, kind: str, fileobj, data) -> None:
        try:
            if kind == "udp":
                prof = self.profile
                if prof is None:
                    self._on_udp(fileobj, data)
                else:
                    prof.on_udp(self, fileobj, data)
            elif kind == "tcp":
                conn, _ = fileobj.accept()
                self._pool.submit(self._serve_tcp, conn, data)
            elif kind == "ctl":
                data()
            else:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 64)
        except OSError:
            pass

    def current_table(self) -> NameTable | None:
        """The table to answer from in the loop: as it is when the directory watch works (the loop
        refreshes it on every change), else checked against the generation file first."""
        if self._changes.fd >= 0 and self._table is not None and self._gen is not None:
            return self._table
        return self._table_now()

    def _refresh_quietly(self) -> None:
        """The idle tick: follow state, and retry sockets that could not be opened (a dying
        predecessor still held 127.0.0.11:53 in that namespace, say)."""
        try:
            table = self._refresh()
            for cid in list(self._busy):
                self._busy.discard(cid)
                pid = table.pids.get(cid)
                if pid and self._socks.get(cid, (0,))[0] != pid:
                    with contextlib.suppress(EngineError, OSError):
                        self.add_container(cid, pid)  # busy again: back in the set
        except Exception:  # noqa: BLE001 - a bad state file must not kill DNS for everyone
            pass

    def _on_udp(self, sock: socket.socket, cid: str) -> None:
        try:
            data, peer = sock.recvfrom(4096)
        except (BlockingIOError, InterruptedError):
            return
        reply = self.answer_from(self.current_table(), data, cid)
        if reply is not None:
            with contextlib.suppress(OSError):
                sock.sendto(reply, peer)
        else:
            self.forward_later(sock, peer, data, cid)

    def forward_later(self, sock: socket.socket, peer, data: bytes, cid: str) -> None:
        """Ask the upstream resolvers from a pool thread: the loop never waits on the outside."""
        self._pool.submit(self._forward_udp, sock, peer, data, cid)

    def _forward_udp(self, sock, peer, data, cid) -> None:
        reply = self._forward(data, cid)
        with contextlib.suppress(OSError):
            sock.sendto(reply, peer)

    def _serve_tcp(self, conn: socket.socket, cid: str) -> None:
        with conn:
            conn.setblocking(True)
            conn.settimeout(5)
            try:
                while True:
                    head = _recv_exact(conn, 2)
                    if not head:
                        return
                    data = _recv_exact(conn, struct.unpack("!H", head)[0])
                    if data is None:
                        return
                    reply = self.answer_local(data, cid)
                    if reply is None:
                        reply = self._forward(data, cid, tcp=True)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    # ---------------------------------------------------------------- answers
    def answer_local(self, data: bytes, cid: str) -> bytes | None:
        """The reply when the name is ours (or the query is garbage); None to forward it."""
        return self.answer_from(self._table_now(), data, cid)

    def _table_now(self) -> NameTable | None:
        try:
            return self._refresh()
        except Exception:  # noqa: BLE001 - a bad state file: answer from what was read before
            return self._table

    def answer_from(self, table: NameTable | None, data: bytes, cid: str) -> bytes | None:
        if table is None:
            return _servfail(data) if len(data) >= 12 else None
        query = wire.parse_query(data)
        if query is None:
            return _answer_odd(data, cid, table)
        answer = table.answer(cid, query.name, query.qtype)
        return None if answer is FORWARD else answer.pack(query)

    def _forward(self, data: bytes, cid: str, tcp: bool = False) -> bytes:
        table = self._table
        if table is not None and table.internal_only(cid):
            return _servfail(data)  # internal networks never reach outside, not even for DNS
        ups = [(ns, 53) for ns in (table.upstreams.get(cid) if table else None) or []] or self.upstreams
        for host, port in ups:
            try:
                body = _ask_tcp(host, port, data) if tcp else _ask_udp(host, port, data)
                if body:
                    return body
            except (OSError, ValueError, struct.error):
                continue
        return _servfail(data)


def _ask_tcp(host: str, port: int, data: bytes) -> bytes | None:
    with socket.create_connection((host, port), timeout=FORWARD_TIMEOUT) as s:
        s.sendall(struct.pack("!H", len(data)) + data)
        head = _recv_exact(s, 2)
        return _recv_exact(s, struct.unpack("!H", head)[0]) if head else None


def _ask_udp(host: str, port: int, data: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(FORWARD_TIMEOUT)
        s.sendto(data, (host, port))
        while True:
            body, _ = s.recvfrom(65535)
            if body[:2] == data[:2]:
                return body


def _answer_odd(data: bytes, cid: str, table: NameTable) -> bytes | None:
    """What the wire parser refused, through dnslib: FORMERR for garbage, else the usual answer
    (e.g. a question whose name uses a compression pointer)."""
    from dnslib import DNSRecord

    try:
        q = DNSRecord.parse(data)
    except Exception:  # noqa: BLE001 - dnslib raises several types on bad input
        return None if len(data) < 12 else _formerr(data)
    if not q.questions or q.header.qr or q.header.opcode != 0:
        return _formerr(data)
    # re-pack the first question plainly and answer it like any other
    plain = bytes(DNSRecord(q.header, q=q.questions[0]).pack())
    query = wire.parse_query(plain)
    if query is None:
        return _formerr(data)
    answer = table.answer(cid, query.name, query.qtype)
    return None if answer is FORWARD else answer.pack(query)


def _recv_exact(s: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _rcode_reply(data: bytes, rcode: int) -> bytes:
    query = wire.parse_query(data)
    if query is not None:
        return wire.reply(query, rcode)
    try:
        from dnslib import DNSRecord

        r = DNSRecord.parse(data).reply()
        r.header.rcode = rcode
        return bytes(r.pack())
    except Exception:  # noqa: BLE001
        return wire.header_reply(data, rcode)


def _servfail(data: bytes) -> bytes:
    return _rcode_reply(data, wire.SERVFAIL)


def _formerr(data: bytes) -> bytes:
    return _rcode_reply(data, wire.FORMERR)


def is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False
