"""Containers.remove_many (what `compose down` uses): one supervisor request stops the containers
wave by wave and removes them all, their network released in one batch; a container it cannot
find or remove is reported and the others are removed all the same. Real containers, real veths."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.errors import EngineError, NotFound

pytestmark = pytest.mark.root

TRAP = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]  # exits on SIGTERM
STUBBORN = ["sleep", "300"]  # pid 1 without a handler ignores SIGTERM: only SIGKILL ends it


def _veths(eng, cid: str) -> list[str]:
    ep = Path(eng.root.path) / "networks" / "endpoints" / f"{cid}.json"
    return [e["HostVeth"] for e in json.loads(ep.read_text())["Networks"] if e.get("HostVeth")]


def _listed(eng, ids) -> list[str]:
    return [c["Id"] for c in eng.containers.list(all=True) if c["Id"] in ids]


def test_waves_are_stopped_in_order_then_all_removed_with_their_network(eng, make, net):
    host = {"NetworkMode": net}
    front = [make(TRAP, HostConfig=host), make(STUBBORN, HostConfig=host)]
    back = [make(TRAP, HostConfig=host)]
    created = make(TRAP, HostConfig=host)  # never started: removed without a stop
    for cid in front + back:
        eng.containers.start(cid)
    veths = [v for cid in front + back for v in _veths(eng, cid)]
    bridge = json.loads((Path(eng.root.path) / "networks" / f"{eng.networks.inspect(net)['Id']}.json").read_text())
    assert os.path.exists(f"/sys/class/net/{bridge['_pycompose']['bridge']}")
    assert len(veths) == 3 and all(os.path.exists(f"/sys/class/net/{v}") for v in veths)
    steps: list[tuple[str, str]] = []

    failed = eng.containers.remove_many([front, back + [created]], timeouts={cid: 1 for cid in front + back},
                                        progress=lambda cid, step: steps.append((cid, step)))

    assert failed == {}
    everyone = front + back + [created]
    assert _listed(eng, everyone) == []
    for cid in everyone:
        assert not (Path(eng.root.path) / "containers" / cid).exists()
        assert not (Path(eng.root.path) / "networks" / "endpoints" / f"{cid}.json").exists()
    assert [v for v in veths if os.path.exists(f"/sys/class/net/{v}")] == []
    assert eng.networks.inspect(net)["Containers"] == {}
    bridge = json.loads((Path(eng.root.path) / "networks" / f"{eng.networks.inspect(net)['Id']}.json").read_text())
    assert not os.path.exists(f"/sys/class/net/{bridge['_pycompose']['bridge']}")  # no endpoint: it went too
    for cid in front + back:
        assert [s for c, s in steps if c == cid] == ["stopping", "stopped", "removing", "removed"]
    assert [s for c, s in steps if c == created] == ["removing", "removed"]
    first_back = steps.index((back[0], "stopping"))
    assert all(steps.index((cid, "stopped")) < first_back for cid in front)  # dependents first
    eng.networks.remove(net)  # nothing holds it any more


def test_a_missing_container_is_reported_and_the_others_removed(eng, make):
    cids = [make(TRAP), make(TRAP)]
    for cid in cids:
        eng.containers.start(cid)

    failed = eng.containers.remove_many([[cids[0], "pyc-no-such-container", cids[1]]], timeouts={})

    assert list(failed) == ["pyc-no-such-container"] and isinstance(failed["pyc-no-such-container"], NotFound)
    assert _listed(eng, cids) == []


def test_a_container_that_cannot_be_removed_is_reported_and_the_others_removed(eng, make):
    stuck, other = make(TRAP), make(TRAP)
    for cid in (stuck, other):
        eng.containers.start(cid)
    pinned = Path(eng.root.path) / "containers" / stuck / "pinned"
    pinned.write_text("immutable: its directory cannot be deleted\n")
    subprocess.run(["chattr", "+i", str(pinned)], check=True)
    try:
        failed = eng.containers.remove_many([[stuck, other]], timeouts={stuck: 1, other: 1})
    finally:
        subprocess.run(["chattr", "-i", str(pinned)], check=True)
    assert list(failed) == [stuck] and isinstance(failed[stuck], EngineError)
    assert "could not be removed" in str(failed[stuck])
    assert _listed(eng, [stuck, other]) == []  # its record is gone all the same; the directory stayed
    assert not (Path(eng.root.path) / "containers" / other).exists()
    shutil.rmtree(Path(eng.root.path) / "containers" / stuck)


def test_the_supervisor_holds_nothing_of_them_afterwards(eng, make):
    cids = [make(TRAP) for _ in range(3)]
    for cid in cids:
        eng.containers.start(cid)
    before = eng.supervisor.status()

    assert eng.containers.remove_many([cids], timeouts={cid: 1 for cid in cids}) == {}

    after = eng.supervisor.status()
    assert after["boxes"] == before["boxes"] - 3
    assert after["running"] == before["running"] - 3
    for cid in cids:  # the cgroups went with the exits
        assert list(Path("/sys/fs/cgroup").glob(f"*/pycompose/{cid}")) == []
        assert list(Path("/sys/fs/cgroup").glob(f"pycompose/{cid}")) == []


@pytest.mark.parametrize("waves", ["all", [["not a wave item"]], [[{"id": 7}]], [[{"id": "x", "timeout": "soon"}]]])
def test_a_malformed_request_is_refused_and_the_supervisor_serves_on(eng, make, waves):
    import socket

    from engine.supervisor import protocol

    cid = make(TRAP)
    eng.containers.start(cid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(str(Path(eng.root.path) / "run" / "supervisor.sock"))
        s.sendall(protocol.encode({"op": "remove_many", "waves": waves}))
        reply = json.loads(s.makefile("rb").readline())
    finally:
        s.close()
    assert reply["ok"] is False and reply["error"] == "InvalidArgument"
    assert eng.containers.inspect(cid)["State"]["Running"] is True
    assert eng.containers.remove_many([[cid]], timeouts={cid: 1}) == {}
