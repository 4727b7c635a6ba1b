"""The supervisor's view (engine.network.hooks.SupervisorNetwork): a full start/exit cycle, and a
supervisor that dies and comes back finds its running containers' DNS and releases the dead."""
import os
import socket

import pytest
from dnslib import DNSRecord, QTYPE, RCODE

from sandbox import Box, record

pytestmark = pytest.mark.root


def ask(box, name):
    s = box.socket(type_=socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(DNSRecord.question(name).pack(), ("127.0.0.11", 53))
    r = DNSRecord.parse(s.recv(4096))
    s.close()
    return r


@pytest.fixture
def sup(tmp_path, no_net_leaks):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from engine.network import SupervisorNetwork

    root = str(tmp_path / "root")
    made = []

    def make():
        s = SupervisorNetwork(root, upstreams=[])
        made.append(s)
        return s
    yield make
    last = made[-1]
    no_net_leaks.note(last.manager)
    for ep in last.manager.store.endpoints():
        last.removed(ep["Id"])
    for n in last.manager.list():
        if n["Name"] not in ("bridge", "host", "none"):
            last.manager.remove(n["Id"])
    for s in made:
        s.stop()


def test_restarted_supervisor_keeps_running_containers_and_releases_dead_ones(sup):
    first = sup()
    first.start([])
    first.manager.create("front")
    boxes = {}
    try:
        for name in ("alive", "doomed"):
            rec = record(name)
            prep = first.before_start(rec)
            box = Box(prep.hosts_path, prep.resolv_conf_path)
            boxes[name] = (rec, box)
            first.prestart(rec)(box.pid)
        alive_rec, alive = boxes["alive"]
        assert [str(r.rdata) for r in ask(alive, "doomed").rr if r.rtype == QTYPE.A]
        first.stop()  # the supervisor dies: its DNS sockets close, containers keep running
        boxes["doomed"][1].kill()  # and one container dies meanwhile
        second = sup()
        released = second.start([alive_rec["Id"]])
        assert released == [boxes["doomed"][0]["Id"]]
        assert ask(alive, "doomed").header.rcode == RCODE.NXDOMAIN
        assert [str(r.rdata) for r in ask(alive, "alive").rr] == [
            second.manager.network_settings(alive_rec)["Networks"]["front"]["IPAddress"]]
        second.after_exit(alive_rec)
    finally:
        for rec, box in boxes.values():
            box.kill()
