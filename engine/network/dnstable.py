"""The embedded DNS server's in-memory name table: who may resolve what, with answers pre-packed.

Built from $ROOT/networks (network and endpoint records) when the store's generation changes;
a record file whose inode, mtime and size are unchanged is not read again (files are replaced
atomically, so a new content is a new inode), so a rebuild after one container starts reads one
file, not all of them. Each (container, name, type) question is answered once per table and
memoized as packed records, so a repeated question costs a dict lookup.
"""
from __future__ import annotations

import json
import os
import random
import time

from engine.network import dnswire as wire

TTL = 600
MEMO_MAX = 4096  # distinct questions remembered per table (random garbage names must not grow it)
RACY_NS = 100_000_000  # files changed this recently are re-read at the next rebuild (see RecordFiles)


class Answer:
    """What a local name resolves to: ``rcode``, the A records (shuffled per reply when several,
    like Docker's round robin over replicas), then the other records."""

    __slots__ = ("rcode", "a", "rest")

    def __init__(self, rcode: int, a: tuple[bytes, ...] = (), rest: tuple[bytes, ...] = ()):
        self.rcode, self.a, self.rest = rcode, a, rest

    def pack(self, query: wire.Query) -> bytes:
        if len(self.a) > 1:
            a = list(self.a)
            random.shuffle(a)
            return wire.reply(query, self.rcode, a + list(self.rest))
        return wire.reply(query, self.rcode, self.a + self.rest)


FORWARD = Answer(-1)  # not one of ours: ask the upstream resolvers


class RecordFiles:
    """Parsed JSON records of one directory, re-read only for files that changed (by inode, mtime
    and size: writers replace files atomically, so new content comes with a new inode)."""

    def __init__(self, directory: str):
        self.directory = directory
        self._seen: dict[str, tuple[tuple[int, int, int], dict | None]] = {}
        self.reads = 0  # files parsed so far (the per-query profile shows it)

    def records(self) -> list[dict]:
        try:
            with os.scandir(self.directory) as it:
                entries = sorted((e for e in it if e.name.endswith(".json") and not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except FileNotFoundError:
            entries = []
        fresh: dict[str, tuple[tuple[int, int, int], dict | None]] = {}
        for entry in entries:
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            old = self._seen.get(entry.name)
            if old and old[0] == key:
                fresh[entry.name] = old
                continue
            rec = self._read(entry.path)
            # Racy: written within the last timestamp tick, a rewrite could keep inode (reused),
            # mtime and size; such a file is not trusted by its key and is read again next time.
            racy = time.time_ns() - st.st_mtime_ns < RACY_NS
            fresh[entry.name] = (None if racy else key, rec)
        self._seen = fresh
        return [rec for _, rec in fresh.values() if rec]

    def _read(self, path: str) -> dict | None:
        self.reads += 1
        try:
            with open(path, "rb") as f:
                rec = json.load(f)
        except (OSError, ValueError):
            return None  # removed meanwhile, or half-written by a crashed writer: skipped
        return rec if isinstance(rec, dict) else None


class NameTable:
    """Per network: name -> addresses; per container: the networks it may see (scope), links,
    its own upstream servers and pid."""

    def __init__(self, networks: list[dict], endpoints: list[dict]):
        nets = {n.get("Id"): n for n in networks}
        self.by_net: dict[str, dict[str, list[str]]] = {}
        self.by_net6: dict[str, dict[str, list[str]]] = {}
        self.scope: dict[str, list[tuple[str, str, bool]]] = {}  # cid -> [(net id, net name, internal)]
        self.links: dict[str, dict[str, str]] = {}
        self.upstreams: dict[str, list[str]] = {}
        self.pids: dict[str, int] = {}
        self.ptr: dict[str, dict[str, str]] = {}
        self.memo: dict[tuple[str, str, int], Answer] = {}
        for ep in endpoints:
            if ep.get("Active") and ep.get("Id"):
                self._add_endpoint(ep, nets)

    def _add_endpoint(self, ep: dict, nets: dict) -> None:
        scope = []
        for e in ep.get("Networks") or []:
            n = nets.get(e.get("NetworkID"))
            if not n or n.get("Name") == "bridge" or not e.get("IPAddress"):
                continue  # the default bridge has no embedded DNS (like Docker)
            scope.append((n["Id"], n["Name"].lower(), bool(n.get("Internal"))))
            names = [x.lower() for x in [ep.get("Name"), *e.get("Aliases", []), ep["Id"][:12], ep.get("Hostname")] if x]
            for table, ip in ((self.by_net, e["IPAddress"]), (self.by_net6, e.get("GlobalIPv6Address"))):
                if not ip:
                    continue
                table = table.setdefault(n["Id"], {})
                for name in names:
                    ips = table.setdefault(name, [])
                    if ip not in ips:
                        ips.append(ip)
            self.ptr.setdefault(n["Id"], {})[e["IPAddress"]] = f"{ep.get('Name')}.{n['Name']}"
        if scope:
            cid = ep["Id"]
            self.scope[cid] = scope
            self.links[cid] = {alias.lower(): target.lower() for target, alias in ep.get("Links") or []}
            self.upstreams[cid] = list(ep.get("Dns") or [])
            if ep.get("Pid"):
                self.pids[cid] = int(ep["Pid"])

    # ------------------------------------------------------------------ questions
    def answer(self, cid: str, name: str, qtype: int) -> Answer:
        """The packed answer to (``name``, ``qtype``) asked by ``cid``; FORWARD when not ours."""
        key = (cid, name, qtype)
        hit = self.memo.get(key)
        if hit is None:
            hit = self._answer(cid, name, qtype)
            if len(self.memo) < MEMO_MAX:
                self.memo[key] = hit
        return hit

    def _answer(self, cid: str, name: str, qtype: int) -> Answer:
        if qtype == wire.QTYPE_PTR and name.endswith(".in-addr.arpa"):
            ip = wire.reverse_v4(name)
            target = self.reverse(cid, ip) if ip else None
            return Answer(wire.NOERROR, rest=(wire.ptr_record(target + ".", TTL),)) if target else FORWARD
        ips = self.lookup(cid, name)
        if ips is None:
            return FORWARD
        if not ips:
            return Answer(wire.NXDOMAIN)
        a: tuple[bytes, ...] = ()
        rest: tuple[bytes, ...] = ()
        if qtype in (wire.QTYPE_A, wire.QTYPE_ANY):
            a = tuple(wire.a_record(ip, TTL) for ip in ips)
        if qtype in (wire.QTYPE_AAAA, wire.QTYPE_ANY):
            rest = tuple(wire.aaaa_record(ip, TTL) for ip in self.lookup(cid, name, family=6) or [])
        return Answer(wire.NOERROR, a, rest)  # other types of our names: NOERROR, no data

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
