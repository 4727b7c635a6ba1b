"""The RTM_DELLINK message dellink sends and how it reads the kernel's ack (pure bytes)."""
from __future__ import annotations

import errno
import struct

from engine.network import dellink


def test_message_names_the_link_with_index_zero():
    msg = dellink.dellink_message("pcv0123456789a", seq=7)
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", msg)
    assert (length, kind, seq, pid) == (len(msg), dellink.RTM_DELLINK, 7, 0)
    assert flags == dellink.NLM_F_REQUEST | dellink.NLM_F_ACK
    family, _type, index, _f, _c = struct.unpack_from("=BxHiII", msg, 16)
    assert (family, index) == (0, 0)
    alen, atype = struct.unpack_from("=HH", msg, 32)
    assert atype == dellink.IFLA_IFNAME and msg[36:36 + alen - 4] == b"pcv0123456789a\0"
    assert len(msg) % 4 == 0


def _ack(code: int, seq: int) -> bytes:
    body = struct.pack("=i", -code) + struct.pack("=IHHII", 16, dellink.RTM_DELLINK, 5, seq, 0)
    return struct.pack("=IHHII", 16 + len(body), dellink.NLMSG_ERROR, 0, seq, 1) + body


def test_ack_errno_reads_success_and_refusals_of_its_own_request():
    assert dellink.ack_errno(_ack(0, 1)) == 0
    assert dellink.ack_errno(_ack(errno.ENODEV, 1)) == errno.ENODEV
    assert dellink.ack_errno(_ack(errno.EPERM, 3) + _ack(0, 1), seq=1) == 0
    assert dellink.ack_errno(b"") == errno.EPROTO


def test_group_messages_name_the_link_and_the_group():
    msg = dellink.setgroup_message("pcv0123456789a", 0x40000001, seq=3)
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", msg)
    assert (length, kind, seq) == (len(msg), dellink.RTM_NEWLINK, 3) and len(msg) % 4 == 0
    assert b"pcv0123456789a\0" in msg and struct.pack("=I", 0x40000001) in msg
    msg = dellink.delgroup_message(0x40000001, seq=9)
    length, kind, _, seq, _ = struct.unpack_from("=IHHII", msg)
    assert (length, kind, seq) == (len(msg), dellink.RTM_DELLINK, 9)
    alen, atype = struct.unpack_from("=HH", msg, 32)
    assert (alen, atype) == (8, dellink.IFLA_GROUP) and msg[36:40] == struct.pack("=I", 0x40000001)


def test_ack_errnos_reads_every_ack_by_sequence():
    assert dellink.ack_errnos(_ack(0, 1) + _ack(errno.ENODEV, 2) + _ack(0, 3)) == {1: 0, 2: errno.ENODEV, 3: 0}
    assert dellink.ack_errnos(b"") == {}
