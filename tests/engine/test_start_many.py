"""Containers.start_many: one supervisor request (start_many) starts several containers, each as
``start`` would; one that cannot start is reported in its place, undone like any failed start,
while the others run."""
from __future__ import annotations

import pytest

from engine.cgroups import open_cgroup
from engine.containers import ContainerStore
from engine.errors import InvalidArgument, NotFound
from engine.runtime.errors import StartError
from test_start_transaction import _supervisor_fds_into

pytestmark = pytest.mark.root


def _running(eng, cid: str) -> bool:
    return bool(eng.containers.inspect(cid)["State"]["Running"])


def test_every_container_of_the_batch_runs(eng, make):
    ids = [make(["sleep", "300"]) for _ in range(4)]
    try:
        assert eng.containers.start_many(ids) == {}
        assert all(_running(eng, cid) for cid in ids)
        pids = {eng.containers.inspect(cid)["State"]["Pid"] for cid in ids}
        assert len(pids) == 4 and 0 not in pids
        # a second batch of the same (running) containers is a no-op, as docker start is
        assert eng.containers.start_many(ids) == {}
        assert {eng.containers.inspect(cid)["State"]["Pid"] for cid in ids} == pids
    finally:
        for cid in ids:
            eng.containers.stop(cid, timeout=0)


def test_one_failing_start_is_reported_while_the_others_run_and_nothing_is_left_of_it(eng, make):
    first, broken, last = make(["sleep", "300"]), make(["/no/such/binary"]), make(["sleep", "300"])
    try:
        failed = eng.containers.start_many([first, broken, last, "no-such-container-xyz"])
        assert set(failed) == {broken, "no-such-container-xyz"}
        assert isinstance(failed[broken], StartError) and failed[broken].status == 127
        assert "no/such/binary" in str(failed[broken])
        assert isinstance(failed["no-such-container-xyz"], NotFound)
        assert _running(eng, first) and _running(eng, last)
        info = eng.containers.inspect(broken)
        assert not info["State"]["Running"] and info["State"]["ExitCode"] == 127
        assert "no/such/binary" in info["State"]["Error"]
        assert not open_cgroup(f"pycompose/{broken}").exists()
        assert all(not n.get("IPAddress") for n in info["NetworkSettings"]["Networks"].values())
        assert _supervisor_fds_into(eng, str(ContainerStore(eng.root).dir(broken))) == []
    finally:
        eng.containers.stop(first, timeout=0)
        eng.containers.stop(last, timeout=0)


def test_a_malformed_batch_is_refused_with_a_clear_error(eng):
    for ids, says in (([], "list of 1 to"), ("abc", "list of 1 to"), ([1, 2], "must hold strings"),
                      (["../x"], "needs a container id")):
        with pytest.raises(InvalidArgument, match=says):
            eng.supervisor._call({"op": "start_many", "ids": ids})
