"""Fixtures of the network root tests: a fresh data root with a NetworkManager and a running
DnsServer, stand-in containers (tests/network/sandbox.py), and a per-test leak check."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import leaks  # noqa: E402  (tests/leaks.py, on sys.path via tests/conftest.py)
import sandbox  # noqa: E402


class Tracker:
    """Names of the kernel objects a test's networks and containers could have made. Other
    engineers' test sessions run at the same time on this machine, so a plain before/after
    diff of every pc-/pcv link would blame their objects on us; these names are ours alone."""

    def __init__(self):
        self.roots: set[str] = set()
        self.net_ids: set[str] = set()
        self.container_ids: set[str] = set()

    def note(self, manager) -> None:
        """Remember what ``manager``'s root holds now (call before cleaning up)."""
        self.roots.add(str(manager.root.path))
        self.net_ids |= {n["Id"] for n in manager.store.networks()}
        self.container_ids |= {e["Id"] for e in manager.store.endpoints()}

    def expected_absent(self) -> set[str]:
        from engine.network import names, nft

        out = {f"link {names.bridge_name(n)}" for n in self.net_ids}
        out |= {f"link {names.veth_name(n, c)}" for n in self.net_ids for c in self.container_ids}
        out |= {f"nft table {fam} {nft.table_name(r)}" for r in self.roots for fam in ("ip", "ip6")}
        return out


@pytest.fixture
def no_net_leaks():
    """No bridge, veth or nft table of this test's networks may be left after it."""
    tracker = Tracker()
    yield tracker
    left = (leaks.links() | leaks.nft_tables()) & tracker.expected_absent()
    assert not left, f"left behind: {sorted(left)}"


@pytest.fixture
def dns_class():
    """The DNS server the ``nm`` fixture runs: a thread in the test process (tests that need it as
    the supervisor runs it, a process of its own, override this fixture with DnsProcess)."""
    from engine.network.dns import DnsServer

    return DnsServer


@pytest.fixture
def nm(tmp_path, no_net_leaks, dns_class):
    """NetworkManager with a running DNS server (``nm.dns``) on a fresh root; everything is
    detached and removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from engine.network import NetworkManager

    root = tmp_path / "root"
    dns = dns_class(str(root), upstreams=[])
    dns.start()
    m = NetworkManager(str(root), dns=dns)
    yield m
    no_net_leaks.note(m)
    for ep in m.store.endpoints():
        m.forget(ep["Id"])
    for n in m.list():
        if n["Name"] not in ("bridge", "host", "none"):
            m.remove(n["Id"])
    dns.stop()


@pytest.fixture
def boxes(nm):
    """start(record) -> Box: prepare, start a stand-in container, attach; all killed/detached after."""
    made: list[tuple[dict, sandbox.Box]] = []

    def start(rec: dict) -> sandbox.Box:
        prep = nm.prepare(rec)
        box = sandbox.Box(prep.hosts_path, prep.resolv_conf_path)
        made.append((rec, box))
        nm.attach(rec, box.pid)
        rec["State"] = {"Running": True, "Pid": box.pid}
        return box

    yield start
    for rec, box in made:
        nm.detach(rec)
        box.kill()
