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


def _ours() -> set[str]:
    return leaks.links() | leaks.nft_tables()


@pytest.fixture
def no_net_leaks():
    """No pc-/pcv link and no pycompose nft table may be left by the test."""
    before = _ours()
    yield
    left = _ours() - before
    assert not left, f"left behind: {sorted(left)}"


@pytest.fixture
def nm(tmp_path, no_net_leaks):
    """(NetworkManager, DnsServer) on a fresh root; everything is detached and removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from engine.network import NetworkManager
    from engine.network.dns import DnsServer

    root = tmp_path / "root"
    dns = DnsServer(str(root), upstreams=[])
    dns.start()
    m = NetworkManager(str(root), dns=dns)
    yield m
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
