"""DNS wire format for the embedded server's hot path, without dnslib.

Why: a query to 127.0.0.11 is one question about a name the server already knows, and dnslib's
parse + pack of a whole message cost ~200 us of CPU per query (more than everything else the
server does). Here a query's header and question are read with slicing, and a reply is the
query's own header and question (so the asker's letter case and id come back unchanged) followed
by answer records packed once when the name table is built (name compressed to a pointer at the
question, offset 12). Anything unusual (several questions, a pointer inside the question, an
opcode other than QUERY, a response) is left to dnslib by returning None from ``parse_query``.
"""
from __future__ import annotations

import ipaddress
import struct

QTYPE_A, QTYPE_PTR, QTYPE_AAAA, QTYPE_ANY = 1, 12, 28, 255
NOERROR, FORMERR, SERVFAIL, NXDOMAIN = 0, 1, 2, 3
_CLASS_IN = 1
_QNAME_PTR = b"\xc0\x0c"  # the question's name, always at offset 12
_FLAGS_REPLY = 0x8480  # QR, AA, RA set on the query's flags, as dnslib's reply() does
_MAX_NAME = 255


class Query:
    """One parsed question: ``name`` lower-case without the final dot, ``end`` where the question
    section stops (what the reply echoes is ``data[12:end]``)."""

    __slots__ = ("data", "name", "qtype", "end")

    def __init__(self, data: bytes, name: str, qtype: int, end: int):
        self.data, self.name, self.qtype, self.end = data, name, qtype, end


def parse_query(data: bytes) -> Query | None:
    """The question of a plain one-question query, or None when dnslib must look at it."""
    if len(data) < 17 or data[2] & 0xF8 or data[4:6] != b"\x00\x01":
        return None  # a response, an opcode other than QUERY, or not exactly one question
    labels, pos, size = [], 12, len(data)
    while True:
        if pos >= size:
            return None
        n = data[pos]
        if n == 0:
            pos += 1
            break
        if n > 63 or pos + 1 + n > size:
            return None  # compression pointer or truncated label
        labels.append(data[pos + 1: pos + 1 + n])
        pos += 1 + n
        if pos - 12 > _MAX_NAME:
            return None
    if pos + 4 > size:
        return None
    qtype = (data[pos] << 8) | data[pos + 1]
    try:
        name = b".".join(labels).lower().decode("ascii")
    except UnicodeDecodeError:
        return None
    return Query(data, name, qtype, pos + 4)


def reply(query: Query, rcode: int, records: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """The answer to ``query``: its header with the reply bits and ``rcode``, its question, ``records``."""
    data = query.data
    flags = ((((data[2] << 8) | data[3]) | _FLAGS_REPLY) & 0xFFF0) | rcode
    head = data[:2] + struct.pack("!HHHHH", flags, 1, len(records), 0, 0)
    return head + data[12:query.end] + b"".join(records)


def a_record(ip: str, ttl: int) -> bytes:
    """An A record for the question's name (packed once per table build)."""
    return _QNAME_PTR + struct.pack("!HHIH", QTYPE_A, _CLASS_IN, ttl, 4) + ipaddress.IPv4Address(ip).packed


def aaaa_record(ip: str, ttl: int) -> bytes:
    return _QNAME_PTR + struct.pack("!HHIH", QTYPE_AAAA, _CLASS_IN, ttl, 16) + ipaddress.IPv6Address(ip).packed


def ptr_record(target: str, ttl: int) -> bytes:
    """A PTR record pointing at ``target`` (a name, written out in full)."""
    rdata = encode_name(target)
    return _QNAME_PTR + struct.pack("!HHIH", QTYPE_PTR, _CLASS_IN, ttl, len(rdata)) + rdata


def encode_name(name: str) -> bytes:
    out = b"".join(bytes([len(p)]) + p for p in (x.encode("ascii", "replace")[:63] for x in name.rstrip(".").split(".")) if p)
    return out + b"\x00"


def reverse_v4(name: str) -> str | None:
    """``4.3.2.1.in-addr.arpa`` -> ``1.2.3.4``; None for other names."""
    if not name.endswith(".in-addr.arpa"):
        return None
    parts = name[: -len(".in-addr.arpa")].split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts):
        return None
    return ".".join(reversed(parts))


def header_reply(data: bytes, rcode: int) -> bytes:
    """A bare reply header (no question) for a query too broken to echo."""
    hdr = bytearray(data[:12].ljust(12, b"\0"))
    hdr[2] |= 0x80
    hdr[3] = (hdr[3] & 0xF0) | rcode
    return bytes(hdr[:4]) + b"\0" * 8
