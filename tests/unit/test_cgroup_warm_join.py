"""Cgroup.warm_join works under the group's own mount (PYCOMPOSE_CGROUP_ROOT in tests), never a
hard-coded /sys/fs/cgroup: against a fake tree (a plain directory standing for cgroupfs, so no root
is needed), the write of our own pid lands in the fake tree's copy of our cgroup."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.cgroups.v1 import CgroupV1
from engine.cgroups.v2 import CgroupV2


def _own(kind: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if kind in ctrls.split(","):
            return path.lstrip("/")
    raise LookupError(kind)


def _v1_own_group(mount: Path) -> Path:
    """A fake v1 tree (freezer and memory hierarchies): where our freezer group is in it."""
    for ctrl in ("freezer", "memory"):
        (mount / ctrl).mkdir()
    return mount / "freezer" / _own("freezer")


def _v2_own_group(mount: Path) -> Path:
    """A fake unified tree: where our group is in it."""
    (mount / "cgroup.controllers").write_text("cpu memory pids\n")
    return mount / _own("")


@pytest.mark.parametrize("cgroup_class, own_group", [(CgroupV1, _v1_own_group), (CgroupV2, _v2_own_group)],
                         ids=["v1-freezer-group", "v2-unified-group"])
def test_writes_our_pid_into_our_group_under_the_configured_mount(tmp_path, cgroup_class, own_group):
    own = own_group(tmp_path)
    own.mkdir(parents=True, exist_ok=True)
    (own / "cgroup.procs").write_text("")
    thread = cgroup_class("pycompose/warm", mount=str(tmp_path)).warm_join()
    assert thread is not None
    thread.join()
    assert (own / "cgroup.procs").read_text() == str(os.getpid())


def test_nothing_to_warm_when_our_group_is_not_in_the_tree(tmp_path):
    (tmp_path / "freezer").mkdir()
    assert CgroupV1("pycompose/warm", mount=str(tmp_path)).warm_join() is None
