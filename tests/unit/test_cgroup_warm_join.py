"""Cgroup.warm_join works under the group's own mount (PYCOMPOSE_CGROUP_ROOT in tests), never a
hard-coded /sys/fs/cgroup: against a fake tree (a plain directory standing for cgroupfs, so no root
is needed), the write of our own pid lands in the fake tree's copy of our cgroup."""
from __future__ import annotations

import os
from pathlib import Path

from engine.cgroups.v1 import CgroupV1
from engine.cgroups.v2 import CgroupV2


def _own(kind: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if kind in ctrls.split(","):
            return path.lstrip("/")
    raise LookupError(kind)


def test_v1_writes_our_pid_into_our_freezer_group_under_the_configured_mount(tmp_path):
    for ctrl in ("freezer", "memory"):
        (tmp_path / ctrl).mkdir()
    own = tmp_path / "freezer" / _own("freezer")
    own.mkdir(parents=True, exist_ok=True)
    (own / "cgroup.procs").write_text("")
    thread = CgroupV1("pycompose/warm", mount=str(tmp_path)).warm_join()
    assert thread is not None
    thread.join()
    assert (own / "cgroup.procs").read_text() == str(os.getpid())


def test_v2_writes_into_the_unified_group_under_the_configured_mount(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    own = tmp_path / _own("")
    own.mkdir(parents=True, exist_ok=True)
    (own / "cgroup.procs").write_text("")
    thread = CgroupV2("pycompose/warm", mount=str(tmp_path)).warm_join()
    assert thread is not None
    thread.join()
    assert (own / "cgroup.procs").read_text() == str(os.getpid())


def test_nothing_to_warm_when_our_group_is_not_in_the_tree(tmp_path):
    (tmp_path / "freezer").mkdir()
    assert CgroupV1("pycompose/warm", mount=str(tmp_path)).warm_join() is None
