"""Embedded DNS at 127.0.0.11 for containers on user-defined networks (dnslib for the wire format).

One server (a selector loop in the supervisor) serves every container: for each one it owns a
UDP and a TCP socket that a short-lived thread created inside the container's network
namespace, so a query's socket tells which container asks, and therefore which networks
(scope) its answer may come from. Names: container name, aliases (Compose's service name is
one, so every running replica answers), short id, hostname, ``name.network``, and the
container's legacy links. Unknown single-label names (and ``x.<network>``) get NXDOMAIN;
other names are forwarded to the container's ``dns`` servers or the host's resolvers.

State is read from $ROOT/networks and re-read whenever its generation file changes, checked
on every query, so a container started a moment ago resolves at once in the others.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import selectors
import random
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

from dnslib import A, AAAA, DNSRecord, PTR, QTYPE, RCODE, RR

from engine.errors import EngineError
from engine.network import hostfiles
from engine.network.names import DNS_ADDRESS
from engine.network.netns import sockets_in_netns
from engine.network.store import Store
from engine.state import DataRoot

TTL = 600
FORWARD_TIMEOUT = 2.0


class _Index:
    """Who may resolve what: per network name -> addresses, per container its networks."""

    def __init__(self, store: Store):
        nets = {n["Id"]: n for n in store.networks()}
        self.by_net: dict[str, dict[str, list[str]]] = {}
        self.by_net6: dict[str, dict[str, list[str]]] = {}
        self.scope: dict[str, list[tuple[str, str, bool]]] = {}  # cid -> [(net id, net name, internal)]
        self.links: dict[str, dict[str, str]] = {}
        self.upstreams: dict[str, list[str]] = {}
        self.pids: dict[str, int] = {}
        self.ptr: dict[str, dict[str, str]] = {}
        self.cache: dict[tuple[str, bytes], bytes] = {}
        for ep in store.endpoints():
            if not ep.get("Active"):
                continue
            scope = []
            for e in ep["Networks"]:
                n = nets.get(e.get("NetworkID"))
                if not n or n["Name"] == "bridge" or not e.get("IPAddress"):
                    continue  # the default bridge has no embedded DNS (like Docker)
                scope.append((n["Id"], n["Name"].lower(), bool(n.get("Internal"))))
                names_ = [x.lower() for x in [ep["Name"], *e.get("Aliases", []), ep["Id"][:12], ep.get("Hostname")] if x]
                for table, ip in ((self.by_net, e["IPAddress"]), (self.by_net6, e.get("GlobalIPv6Address"))):
                    if not ip:
                        continue
                    table = table.setdefault(n["Id"], {})
                    for name in names_:
                        ips = table.setdefault(name, [])
                        if ip not in ips:
                            ips.append(ip)
                self.ptr.setdefault(n["Id"], {})[e["IPAddress"]] = f"{ep['Name']}.{n['Name']}"
            if scope:
                self.scope[ep["Id"]] = scope
                self.links[ep["Id"]] = {alias.lower(): target.lower() for target, alias in ep.get("Links") or []}
                self.upstreams[ep["Id"]] = list(ep.get("Dns") or [])
                if ep.get("Pid"):
                    self.pids[ep["Id"]] = int(ep["Pid"])

    def lookup(self, cid: str, name: str, family: int = 4) -> list[str] | None:
        """Addresses for ``name`` as container ``cid`` sees it; [] = ours but unknown; None = not ours.
        Whether a name is ours is decided on IPv4 (every endpoint has one); ``family`` picks the answer."""
        name = name.rstrip(".").lower()
        scope = self.scope.get(cid, [])
        name = self.links.get(cid, {}).get(name, name)
        known = self._collect(scope, name, self.by_net)
        if known:
            return known if family == 4 else self._collect(scope, name, self.by_net6)
        if "." in name:
            head, _, net_name = name.rpartition(".")
            for net_id, nname, _ in scope:
                if nname == net_name:
                    table = self.by_net if family == 4 else self.by_net6
                    if family == 6 and not self.by_net.get(net_id, {}).get(head):
                        return []
                    return list(table.get(net_id, {}).get(head, []))
            return None
        return []

    @staticmethod
    def _collect(scope, name: str, tables: dict) -> list[str]:
        ips: list[str] = []
        for net_id, _, _ in scope:
            for ip in tables.get(net_id, {}).get(name, []):
                if ip not in ips:
                    ips.append(ip)
        return ips

    def reverse(self, cid: str, ip: str) -> str | None:
        for net_id, _, _ in self.scope.get(cid, []):
            hit = self.ptr.get(net_id, {}).get(ip)
            if hit:
                return hit
        return None

    def internal_only(self, cid: str) -> bool:
        scope = self.scope.get(cid, [])
        return bool(scope) and all(internal for _, _, internal in scope)


class DnsServer:
    """Start with ``start()``; ``add_container``/``remove_container`` as containers come and go
    (it also follows state by itself); ``stop()`` closes every socket."""

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
        self._sel = selectors.DefaultSelector()
        self._socks: dict[str, tuple[int, socket.socket, socket.socket]] = {}
        self._lock = threading.RLock()
        self._gen: tuple | None = None
        self._index: _Index | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._refresh()
        self._thread = threading.Thread(target=self._loop, name="pycompose-dns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread:
            self._thread.join(timeout=5)
        with self._lock:
            for cid in list(self._socks):
                self._close(cid)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._sel.close()
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
                raise EngineError(f"embedded DNS cannot listen on {self.address}:{self.port} in container "
                                  f"{container_id[:12]}: {e.strerror}") from None
            self._socks[container_id] = (pid, udp, tcp)
            self._sel.register(udp, selectors.EVENT_READ, ("udp", container_id))
            self._sel.register(tcp, selectors.EVENT_READ, ("tcp", container_id))
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
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(s)
            s.close()

    # ---------------------------------------------------------------- state
    def _generation(self) -> tuple:
        try:
            st = os.stat(self.store.generation_path())
            return (st.st_mtime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            return (0, 0, 0)

    def _refresh(self) -> _Index:
        gen = self._generation()
        if self._index is None or gen != self._gen:
            self._index = _Index(self.store)  # files are replaced atomically: no lock needed to read
            self._gen = gen
            self._sync_sockets(self._index)
        return self._index

    def _sync_sockets(self, index: _Index) -> None:
        """Follow state: sockets for running containers on user networks, none for the others."""
        with self._lock:
            for cid in list(self._socks):
                if cid not in index.scope:
                    self._close(cid)
        for cid, pid in index.pids.items():
            if cid not in self._socks or self._socks[cid][0] != pid:
                with contextlib.suppress(EngineError, OSError):
                    self.add_container(cid, pid)

    # ---------------------------------------------------------------- loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._sel.select(timeout=0.5)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                continue
            try:
                self._refresh()
            except Exception:  # noqa: BLE001 - a bad state file must not kill DNS for everyone
                pass
            for key, _ in events:
                kind, cid = key.data
                if kind == "wake":
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 64)
                    continue
                try:
                    if kind == "udp":
                        self._on_udp(key.fileobj, cid)
                    else:
                        conn, _ = key.fileobj.accept()
                        self._pool.submit(self._serve_tcp, conn, cid)
                except OSError:
                    continue

    def _on_udp(self, sock: socket.socket, cid: str) -> None:
        for _ in range(64):  # drain what is queued
            try:
                data, peer = sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            reply = self._answer_local(data, cid)
            if reply is not None:
                with contextlib.suppress(OSError):
                    sock.sendto(reply, peer)
            else:
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
                    reply = self._answer_local(data, cid)
                    if reply is None:
                        reply = self._forward(data, cid, tcp=True)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    # ---------------------------------------------------------------- answers
    def _answer_local(self, data: bytes, cid: str) -> bytes | None:
        """The reply when the name is ours (or the query is garbage); None to forward it.

        Replies are cached per (container, query minus its id) until state changes: a repeated
        question costs a dict lookup instead of a dnslib parse and pack."""
        index = self._refresh()
        key = (cid, data[2:])
        hit = index.cache.get(key)
        if hit is not None:
            return data[:2] + hit
        reply = self._answer_uncached(data, cid, index)
        # Several addresses (replicas behind one alias) are shuffled per query, like Docker's
        # resolver, so clients that take the first answer spread over the replicas: never cached.
        many = reply is not None and len(reply) >= 8 and int.from_bytes(reply[6:8], "big") > 1
        if reply is not None and not many and len(index.cache) < 4096:
            index.cache[key] = reply[2:]
        return reply

    def _answer_uncached(self, data: bytes, cid: str, index: "_Index") -> bytes | None:
        try:
            q = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - dnslib raises several types on bad input
            return None if len(data) < 12 else _formerr(data)
        if not q.questions:
            return _formerr(data)
        question = q.questions[0]
        qname = str(question.qname).rstrip(".")
        qtype = question.qtype
        reply = q.reply()
        reply.header.ra = 1
        if qtype == QTYPE.PTR and qname.endswith(".in-addr.arpa"):
            parts = qname[: -len(".in-addr.arpa")].split(".")
            if len(parts) == 4:
                ip = ".".join(reversed(parts))
                name = index.reverse(cid, ip)
                if name:
                    reply.add_answer(RR(question.qname, QTYPE.PTR, ttl=TTL, rdata=PTR(name + ".")))
                    return reply.pack()
            return None
        ips = index.lookup(cid, qname)
        if ips is None:
            return None
        if not ips:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply.pack()
        if qtype in (QTYPE.A, QTYPE.ANY):
            ips = list(ips)
            random.shuffle(ips)
            for ip in ips:
                reply.add_answer(RR(question.qname, QTYPE.A, ttl=TTL, rdata=A(ip)))
        if qtype in (QTYPE.AAAA, QTYPE.ANY):
            for ip in index.lookup(cid, qname, family=6) or []:
                reply.add_answer(RR(question.qname, QTYPE.AAAA, ttl=TTL, rdata=AAAA(ip)))
        return reply.pack()  # other types of our names: NOERROR, no data

    def _forward(self, data: bytes, cid: str, tcp: bool = False) -> bytes:
        index = self._index
        if index is not None and index.internal_only(cid):
            return _servfail(data)  # internal networks never reach outside, not even for DNS
        ups = [(ns, 53) for ns in (index.upstreams.get(cid) if index else None) or []] or self.upstreams
        for host, port in ups:
            try:
                if tcp:
                    with socket.create_connection((host, port), timeout=FORWARD_TIMEOUT) as s:
                        s.sendall(struct.pack("!H", len(data)) + data)
                        head = _recv_exact(s, 2)
                        body = _recv_exact(s, struct.unpack("!H", head)[0]) if head else None
                        if body:
                            return body
                else:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                        s.settimeout(FORWARD_TIMEOUT)
                        s.sendto(data, (host, port))
                        while True:
                            body, _ = s.recvfrom(65535)
                            if body[:2] == data[:2]:
                                return body
            except (OSError, ValueError, struct.error):
                continue
        return _servfail(data)


def _recv_exact(s: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _rcode_reply(data: bytes, rcode: int) -> bytes:
    try:
        r = DNSRecord.parse(data).reply()
        r.header.rcode = rcode
        return r.pack()
    except Exception:  # noqa: BLE001
        hdr = bytearray(data[:12].ljust(12, b"\0"))
        hdr[2] |= 0x80
        hdr[3] = (hdr[3] & 0xF0) | rcode
        return bytes(hdr[:4]) + b"\0" * 8


def _servfail(data: bytes) -> bytes:
    return _rcode_reply(data, RCODE.SERVFAIL)


def _formerr(data: bytes) -> bytes:
    return _rcode_reply(data, RCODE.FORMERR)


def is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False
