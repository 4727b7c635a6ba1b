"""The embedded DNS server as the supervisor runs it: a process of its own (engine.network.dnsproc),
answering stand-in containers; names follow state changes at once; the process ends with its
owner and comes back if it dies; the per-query profile; queries the fast parser leaves to dnslib."""
from __future__ import annotations

import os
import socket
import struct
import time

import pytest
from dnslib import DNSRecord, EDNS0, QTYPE, RCODE

from engine.errors import NotFound
from sandbox import Box, record

pytestmark = pytest.mark.root


@pytest.fixture
def dns_class():
    """``nm`` (tests/network/conftest.py) with the DNS server as the supervisor runs it."""
    from engine.network.dnsproc import DnsProcess

    return DnsProcess


@pytest.fixture
def pnm(nm, boxes):
    nm.start_box = boxes
    return nm


def ask(box, data: bytes) -> bytes:
    s = box.socket(type_=socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.sendto(data, ("127.0.0.11", 53))
        return s.recv(4096)
    finally:
        s.close()


def ask_name(box, name: str, qtype: str = "A") -> DNSRecord:
    return DNSRecord.parse(ask(box, bytes(DNSRecord.question(name, qtype).pack())))


def ips(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype in (QTYPE.A, QTYPE.AAAA))


def ip_of(m, rec, net="front") -> str:
    return m.network_settings(rec)["Networks"][net]["IPAddress"]


def comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def test_answers_come_from_a_process_of_its_own_and_follow_changes_at_once(pnm):
    pnm.create("front")
    first_rec = record("first")
    first = pnm.start_box(first_rec)
    assert comm(pnm.dns.pid) == "pycompose-dns" and pnm.dns.pid != os.getpid()
    assert ask_name(first, "second").header.rcode == RCODE.NXDOMAIN
    second_rec = record("second", aliases=["db"])
    pnm.start_box(second_rec)
    assert ips(ask_name(first, "db")) == [ip_of(pnm, second_rec)]  # the very next query after the change
    assert sorted(pnm.dns.containers()) == sorted(ep["Id"] for ep in pnm.store.endpoints())
    pnm.detach(second_rec)
    assert ask_name(first, "db").header.rcode == RCODE.NXDOMAIN
    assert pnm.dns.containers() == [first_rec["Id"]]  # the stopped container's sockets are closed


def test_a_dead_dns_process_is_replaced_and_reopens_every_socket(pnm):
    pnm.create("front")
    a_rec, b_rec = record("a"), record("b")
    a = pnm.start_box(a_rec)
    pnm.start_box(b_rec)
    old = pnm.dns.pid
    os.kill(old, 9)
    c_rec = record("c")
    pnm.start_box(c_rec)  # add_container finds the process gone and forks another
    assert pnm.dns.pid != old and comm(pnm.dns.pid) == "pycompose-dns"
    assert ips(ask_name(a, "b")) == [ip_of(pnm, b_rec)]  # a's socket re-opened from state
    assert ips(ask_name(a, "c")) == [ip_of(pnm, c_rec)]


def test_a_successor_opens_the_sockets_its_predecessor_still_held_once_it_is_gone(pnm):
    """A supervisor killed and restarted at once: its DNS process may still hold 127.0.0.11:53 in the
    containers' namespaces when the next one reads state; the next one retries until it gets them."""
    from engine.network.dnsproc import DnsProcess

    pnm.create("front")
    a_rec, b_rec = record("a"), record("b")
    a = pnm.start_box(a_rec)
    pnm.start_box(b_rec)
    successor = DnsProcess(str(pnm.root.path), upstreams=[])
    successor.start()
    assert successor.containers() == []  # both addresses still taken by the predecessor
    pnm.dns.stop()
    pnm.dns = successor  # what the fixture cleans up from now on
    deadline = time.monotonic() + 60
    while len(successor.containers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(successor.containers()) == sorted([a_rec["Id"], b_rec["Id"]])
    assert ips(ask_name(a, "b")) == [ip_of(pnm, b_rec)]


def test_errors_keep_their_type_and_stop_ends_the_process(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from engine.network.dnsproc import DnsProcess

    dns = DnsProcess(str(tmp_path / "root"), upstreams=[])
    dns.start()
    pid = dns.pid
    dead = Box()
    dead_pid = dead.pid
    dead.kill()
    with pytest.raises(NotFound):
        dns.add_container("f" * 64, dead_pid)
    dns.stop()
    assert dns.pid == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not a zombie


def test_profile_times_every_query_by_phase(pnm):
    pnm.create("front")
    box = pnm.start_box(record("solo"))
    pnm.dns.set_profile(True)
    for _ in range(20):
        assert ask_name(box, "solo").header.rcode == RCODE.NOERROR
    summary = pnm.dns.set_profile(False)
    assert summary["counters"]["answered"] == 20
    for phase in ("waiting", "state check", "answer", "send", "in server"):
        assert summary["phases"][phase]["n"] == 20
        assert 0 <= summary["phases"][phase]["p50"] <= summary["phases"][phase]["max"]
    assert ask_name(box, "solo").header.rcode == RCODE.NOERROR  # profiling off: plain path again


def test_queries_beyond_the_fast_path(pnm):
    pnm.create("front")
    rec = record("Mixed")
    box = pnm.start_box(rec)
    q = DNSRecord.question("MiXeD", "A")
    q.add_ar(EDNS0(udp_len=1232))
    r = DNSRecord.parse(ask(box, bytes(q.pack())))
    assert str(r.q.qname) == "MiXeD." and ips(r) == [ip_of(pnm, rec)]
    # a question whose name points at itself: left to dnslib, which refuses it
    plain = bytes(DNSRecord.question("mixed").pack())
    pointer = plain[:12] + b"\xc0\x0c" + plain[-4:]
    assert DNSRecord.parse(ask(box, pointer)).header.rcode == RCODE.FORMERR
    garbage = struct.pack("!HHHHHH", 99, 0x0100, 1, 0, 0, 0) + b"\x05ab"
    r = DNSRecord.parse(ask(box, garbage))
    assert (r.header.id, r.header.rcode) == (99, RCODE.FORMERR)
    assert ips(ask_name(box, "mixed")) == [ip_of(pnm, rec)]  # still serving after the odd ones


def _children_named(ppid: int, name: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == ppid and comm(int(d)) == name:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                continue
    return out


def test_supervisor_killed_takes_its_dns_process_along_and_the_next_one_answers(tmp_path, no_net_leaks):
    """Real containers: the supervisor's DNS child dies with it (SIGKILL), and the next supervisor's
    DNS answers the re-adopted containers, both old names and names started after."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    import subprocess
    import tempfile
    from pathlib import Path

    from engine.api import Engine
    from engine.network import NetworkManager
    from processes import is_zombie, kill_supervisor

    root = Path(tempfile.mkdtemp(prefix="pyc-test-dns-", dir="/tmp"))
    subprocess.run([str(Path(__file__).resolve().parents[2] / "scripts" / "make-test-image")], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, PYCOMPOSE_ROOT=str(root)))
    eng = Engine(str(root))
    try:
        eng.networks.create("dnsnet")

        def run(name: str) -> str:
            cid = eng.containers.create({"Image": "busybox", "Cmd": ["sleep", "1000"],
                                         "HostConfig": {"NetworkMode": "dnsnet"}}, name=name)
            eng.containers.start(cid)
            return cid

        def lookup(cid: str, name: str) -> str:
            with tempfile.TemporaryFile() as out:
                eng.containers.exec(cid, ["nslookup", name, "127.0.0.11"], stdout=out, stderr=out)
                out.seek(0)
                return out.read().decode(errors="replace")

        def ip(cid: str) -> str:
            return eng.containers.inspect(cid)["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"]

        a, b = run("dns-a"), run("dns-b")
        assert ip(b) in lookup(a, "dns-b")
        sup = int((root / "run" / "supervisor.pid").read_text())
        [dns_pid] = _children_named(sup, "pycompose-dns")
        kill_supervisor(root)
        deadline = time.monotonic() + 60
        while os.path.exists(f"/proc/{dns_pid}") and not is_zombie(dns_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{dns_pid}") or is_zombie(dns_pid)  # died with its supervisor
        assert eng.containers.inspect(a)["State"]["Running"]  # the next supervisor, re-adopting
        c = run("dns-c")
        assert ip(b) in lookup(a, "dns-b") and ip(c) in lookup(a, "dns-c") and ip(a) in lookup(c, "dns-a")
        # its DNS child killed alone: the supervisor replaces it at once, with no container started
        sup = int((root / "run" / "supervisor.pid").read_text())
        [dns_pid] = _children_named(sup, "pycompose-dns")
        os.kill(dns_pid, 9)
        deadline = time.monotonic() + 60
        while _children_named(sup, "pycompose-dns") in ([], [dns_pid]) and time.monotonic() < deadline:
            time.sleep(0.05)
        [successor] = _children_named(sup, "pycompose-dns")
        assert successor != dns_pid
        assert ip(b) in lookup(a, "dns-b") and ip(a) in lookup(c, "dns-a")
        no_net_leaks.note(NetworkManager(str(root)))
        for cid in (a, b, c):
            eng.containers.remove(cid, force=True)
        eng.networks.remove("dnsnet")
    finally:
        eng.shutdown()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    mine = [d for d in os.listdir("/proc") if d.isdigit() and _cmdline_has(d, str(root))]
    assert mine == []  # the supervisor and its DNS process are gone after shutdown


def _cmdline_has(pid: str, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False
