"""Where runtime.start puts the container's processes: pid 1 and everything it runs in every v1
hierarchy (or the v2 group) of the container's cgroup, the runtime's helper not left there, and a pids limit of 1
still starting (a change that joined the helper before forking pid 1 would count both)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from cgroup_paths import cgroup_lines as _cgroup_lines, group_dir
from engine.cgroups import detect_version

pytestmark = pytest.mark.root




def _wait_for(pred, what: str, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_pid1_and_its_children_are_in_every_hierarchy_of_the_container_cgroup(eng, made):
    cid = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c", "sleep 300 & wait"],
                                 "HostConfig": {"NetworkMode": "none"}})
    made.append(cid)
    eng.containers.start(cid)
    pid = int(eng.containers.inspect(cid)["State"]["Pid"])
    child = _wait_for(lambda: [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()],
                      "the shell's sleep")[0]
    for p in (pid, child):
        lines = _cgroup_lines(p)
        wanted = ("",) if detect_version() == 2 else ("pids", "memory", "cpu", "devices", "freezer", "blkio", "cpuset")
        checked = [c for c in wanted if c in lines]
        assert checked  # v1 controllers, or the v2 line ("0::/...")
        for ctrl in checked:
            assert lines[ctrl].endswith("/" + cid), (p, ctrl, lines[ctrl])
    procs = {int(x) for x in (group_dir(pid, "pids") / "cgroup.procs").read_text().split()}
    assert procs == {pid, child}  # the helper that joined first is gone, nothing else came in


def test_a_pids_limit_of_one_still_starts_and_forks_fail_inside(eng, made):
    cid = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c", "exec echo one-process-ok"],
                                 "HostConfig": {"NetworkMode": "none", "PidsLimit": 1}})
    made.append(cid)
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 0
    assert b"one-process-ok" in b"".join(e.data for e in eng.containers.logs(cid))
    cid2 = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c", "true | true; echo forked"],
                                  "HostConfig": {"NetworkMode": "none", "PidsLimit": 1}})
    made.append(cid2)
    eng.containers.start(cid2)
    eng.containers.wait(cid2)
    assert b"forked" not in b"".join(e.data for e in eng.containers.logs(cid2))  # the limit holds for pid 1
