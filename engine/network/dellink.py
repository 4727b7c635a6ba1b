"""Delete a network link by name with one raw rtnetlink message (RTM_DELLINK), no pyroute2.

Why: teardown (``detach`` on every container exit, the bridge when its last endpoint goes) only
ever deletes links. Going through pyroute2 made the first exit after an idle spell import it
(0.3-0.6 s in the network worker, serialising a whole ``down`` behind it) and opened an IPRoute
(~25 ms) for each veth. The kernel looks the link up by IFLA_IFNAME when the index is 0, so
the message names the link and the ack says whether it was there.
"""
from __future__ import annotations

import errno
import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_DELLINK = 17
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
IFLA_IFNAME = 3
_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, pad, type, index, flags, change
_RTA = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def dellink_message(name: str, seq: int = 1) -> bytes:
    """The RTM_DELLINK request for link ``name`` (index 0: the kernel finds it by name)."""
    raw = name.encode() + b"\0"
    attr = _RTA.pack(_RTA.size + len(raw), IFLA_IFNAME) + raw
    attr += b"\0" * (_align(len(attr)) - len(attr))
    body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + attr
    return _HDR.pack(_HDR.size + len(body), RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def ack_errno(reply: bytes, seq: int = 1) -> int:
    """0 when the kernel acknowledged request ``seq``, else its errno (positive)."""
    off = 0
    while off + _HDR.size <= len(reply):
        length, kind, _, rseq, _ = _HDR.unpack_from(reply, off)
        if length < _HDR.size:
            break
        if kind == NLMSG_ERROR and rseq == seq:
            (code,) = struct.unpack_from("=i", reply, off + _HDR.size)
            return -code
        off += _align(length)
    return errno.EPROTO


def delete_link(name: str) -> bool:
    """Delete link ``name`` in this network namespace (a veth takes its peer along). True when
    it was deleted, False when there was no such link; other refusals raise OSError."""
    if not name or len(name.encode()) >= 16:  # IFNAMSIZ: no such link can exist
        return False
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE) as s:
        s.bind((0, 0))
        s.sendto(dellink_message(name), (0, 0))
        code = ack_errno(s.recv(65536))
    if code in (errno.ENODEV, errno.ENOENT):
        return False
    if code:
        raise OSError(code, f"deleting link {name}: {os.strerror(code)}")
    return True
