"""The embedded DNS server's pure parts: the wire parser/packer of its hot path (checked against
dnslib, which a client would use) and the in-memory name table built from network records."""
from __future__ import annotations

import json
import os

import pytest
from dnslib import DNSHeader, DNSQuestion, DNSRecord, EDNS0, QTYPE, RCODE

from engine.network import dnswire as wire
from engine.network.dnstable import FORWARD, NameTable, RecordFiles


def query(name: str, qtype: str = "A", qid: int = 4242) -> bytes:
    q = DNSRecord.question(name, qtype)
    q.header.id = qid
    return bytes(q.pack())


def test_parse_query_reads_the_question_lower_case():
    q = wire.parse_query(query("Web.Front", "AAAA"))
    assert (q.name, q.qtype) == ("web.front", wire.QTYPE_AAAA)


@pytest.mark.parametrize("data", [
    b"\x00\x01",  # too short
    bytes(DNSRecord.question("a").reply().pack()),  # a response, not a query
    bytes(DNSRecord(DNSHeader(opcode=2), q=DNSQuestion("a")).pack()),  # opcode STATUS
    bytes(DNSRecord(DNSHeader(id=1), questions=[DNSQuestion("a"), DNSQuestion("b")]).pack()),
    query("web")[:-3],  # truncated type/class
    query("web")[:12] + b"\xc0\x0c\x00\x01\x00\x01",  # a compression pointer in the question
])
def test_parse_query_leaves_anything_unusual_to_dnslib(data):
    assert wire.parse_query(data) is None


def test_reply_echoes_id_flags_and_the_askers_letter_case():
    data = query("SiNk", qid=777)
    q = wire.parse_query(data)
    r = DNSRecord.parse(wire.reply(q, wire.NOERROR, [wire.a_record("10.1.2.3", 600)]))
    assert r.header.id == 777 and r.header.qr == 1 and r.header.aa == 1 and r.header.ra == 1 and r.header.rd == 1
    assert str(r.q.qname) == "SiNk."  # 0x20 case randomization needs the question back as sent
    assert [(str(rr.rname), rr.rtype, rr.ttl, str(rr.rdata)) for rr in r.rr] == [("SiNk.", QTYPE.A, 600, "10.1.2.3")]


def test_reply_to_an_edns_query_and_other_record_types():
    q = DNSRecord.question("web", "ANY")
    q.add_ar(EDNS0(udp_len=1232))
    parsed = wire.parse_query(bytes(q.pack()))
    assert parsed is not None
    records = [wire.aaaa_record("fd00::2", 600), wire.ptr_record("web.front.", 600)]
    r = DNSRecord.parse(wire.reply(parsed, wire.NOERROR, records))
    assert [str(rr.rdata) for rr in r.rr] == ["fd00::2", "web.front."]
    assert DNSRecord.parse(wire.reply(parsed, wire.NXDOMAIN)).header.rcode == RCODE.NXDOMAIN


def test_reverse_v4_names():
    assert wire.reverse_v4("4.3.2.10.in-addr.arpa") == "10.2.3.4"
    assert wire.reverse_v4("3.2.10.in-addr.arpa") is None
    assert wire.reverse_v4("x.3.2.10.in-addr.arpa") is None
    assert wire.reverse_v4("web.front") is None


NETS = [{"Id": "n1", "Name": "front"}, {"Id": "n2", "Name": "back"}, {"Id": "n3", "Name": "vault", "Internal": True},
        {"Id": "nb", "Name": "bridge"}]


def endpoint(cid: str, name: str, nets: list[tuple[str, str]], aliases=(), links=(), v6: str = "", dns=(), pid=0):
    return {"Id": cid * 64, "Name": name, "Hostname": name, "Active": True, "Pid": pid, "Dns": list(dns),
            "Links": [list(x) for x in links],
            "Networks": [{"NetworkID": n, "IPAddress": ip, "Aliases": list(aliases), "GlobalIPv6Address": v6}
                         for n, ip in nets]}


def answer_ips(table, cid, name, qtype=wire.QTYPE_A) -> tuple[int, list[str]]:
    ans = table.answer(cid * 64, name, qtype)
    if ans is FORWARD:
        return -1, []
    r = DNSRecord.parse(ans.pack(wire.parse_query(query(name, QTYPE[qtype]))))
    return r.header.rcode, sorted(str(rr.rdata) for rr in r.rr)


@pytest.fixture
def table():
    return NameTable(NETS, [
        endpoint("a", "web-1", [("n1", "10.0.1.2")], aliases=["web"], v6="fd00::2"),
        endpoint("b", "web-2", [("n1", "10.0.1.3")], aliases=["web"]),
        endpoint("c", "db", [("n2", "10.0.2.2")], aliases=["database"]),
        endpoint("d", "app", [("n1", "10.0.1.4"), ("n2", "10.0.2.3")], links=[("db", "olddb")], dns=["10.9.9.9"]),
        endpoint("e", "safe", [("n3", "10.0.3.2")]),
        endpoint("f", "plain", [("nb", "172.17.0.2")]),
    ])


def test_names_aliases_and_replicas_in_scope(table):
    assert answer_ips(table, "a", "web") == (RCODE.NOERROR, ["10.0.1.2", "10.0.1.3"])
    assert answer_ips(table, "a", "web-2") == (RCODE.NOERROR, ["10.0.1.3"])
    assert answer_ips(table, "a", "web-2.front") == (RCODE.NOERROR, ["10.0.1.3"])
    assert answer_ips(table, "a", "cccccccccccc") == (RCODE.NXDOMAIN, [])  # short id of db: not in front's scope
    assert answer_ips(table, "d", "cccccccccccc") == (RCODE.NOERROR, ["10.0.2.2"])
    assert answer_ips(table, "d", "olddb") == (RCODE.NOERROR, ["10.0.2.2"])  # a legacy link, only for app
    assert answer_ips(table, "a", "olddb") == (RCODE.NXDOMAIN, [])


def test_not_ours_is_forwarded_unknown_single_labels_are_nxdomain(table):
    assert answer_ips(table, "a", "database") == (RCODE.NXDOMAIN, [])  # db is on another network
    assert answer_ips(table, "a", "nosuch.front") == (RCODE.NXDOMAIN, [])
    assert answer_ips(table, "a", "example.org") == (-1, [])
    assert answer_ips(table, "f", "web") == (RCODE.NXDOMAIN, [])  # default bridge: sees no embedded names
    assert table.internal_only("e" * 64) and not table.internal_only("d" * 64)
    assert table.upstreams["d" * 64] == ["10.9.9.9"]


def test_aaaa_ptr_and_other_types(table):
    assert answer_ips(table, "b", "web-1", wire.QTYPE_AAAA) == (RCODE.NOERROR, ["fd00::2"])
    assert answer_ips(table, "a", "web-2", wire.QTYPE_AAAA) == (RCODE.NOERROR, [])  # ours, no v6: no data
    assert answer_ips(table, "a", "web-1", 16) == (RCODE.NOERROR, [])  # TXT of our name: NOERROR, no data
    assert answer_ips(table, "a", "3.1.0.10.in-addr.arpa", wire.QTYPE_PTR) == (RCODE.NOERROR, ["web-2.front."])
    assert answer_ips(table, "a", "2.2.0.10.in-addr.arpa", wire.QTYPE_PTR) == (-1, [])  # not in scope: forwarded


def test_replicas_come_in_every_order_and_single_answers_are_memoized(table):
    q = wire.parse_query(query("web"))
    ans = table.answer("a" * 64, "web", wire.QTYPE_A)
    firsts = {str(DNSRecord.parse(ans.pack(q)).rr[0].rdata) for _ in range(60)}
    assert firsts == {"10.0.1.2", "10.0.1.3"}
    assert table.answer("a" * 64, "web", wire.QTYPE_A) is ans


def test_record_files_reread_only_what_changed(tmp_path):
    files = RecordFiles(str(tmp_path))
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"Id": name}))
        os.utime(tmp_path / f"{name}.json", ns=(10**18, 10**18))  # old enough not to be racy
    assert [r["Id"] for r in files.records()] == ["a", "b"]
    assert files.reads == 2
    assert [r["Id"] for r in files.records()] == ["a", "b"] and files.reads == 2
    tmp = tmp_path / ".b.json.tmp"
    tmp.write_text(json.dumps({"Id": "b", "v": 2}))
    os.replace(tmp, tmp_path / "b.json")  # as the store writes: a new inode
    assert files.records()[1] == {"Id": "b", "v": 2} and files.reads == 3
    assert files.records()[1] == {"Id": "b", "v": 2} and files.reads == 4  # just written: read again
    os.unlink(tmp_path / "a.json")
    (tmp_path / "broken.json").write_text("{")
    assert [r["Id"] for r in files.records()] == ["b"]


def test_directory_watch_reports_a_replaced_file_and_drains(tmp_path):
    import select

    from engine.network.dnswatch import DirectoryWatch

    watch = DirectoryWatch(str(tmp_path))
    try:
        assert watch.fd >= 0
        assert select.select([watch.fd], [], [], 0)[0] == []  # nothing happened yet
        (tmp_path / ".generation.tmp").write_text("2")
        os.replace(tmp_path / ".generation.tmp", tmp_path / "generation")  # as Store.bump writes it
        assert select.select([watch.fd], [], [], 5)[0] == [watch.fd]
        watch.drain()
        assert select.select([watch.fd], [], [], 0)[0] == []
    finally:
        watch.close()
    assert watch.fd == -1
