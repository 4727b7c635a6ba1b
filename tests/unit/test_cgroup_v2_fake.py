"""cgroup v2 logic against a fake cgroupfs tree (this machine is v1; most users are v2).

The fake is a plain directory shaped like /sys/fs/cgroup on a v2 host: it
stands for the kernel's cgroupfs only in these tests, since v2 controllers
cannot be mounted here. Files the kernel would fill (memory.events,
cgroup.events, stats) are written by the test.
"""
from pathlib import Path

import pytest

from engine.cgroups import detect_version, limits_from_hostconfig, open_cgroup
from engine.cgroups.v2 import CgroupV2

MiB = 1024 * 1024


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "cgroup.procs").write_text("")
    monkeypatch.setenv("PYCOMPOSE_CGROUP_ROOT", str(root))
    return root


def test_detects_v2_and_v1(fake_root, tmp_path):
    assert detect_version(fake_root) == 2
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    assert detect_version(v1) == 1


def test_create_enables_controllers_down_the_path(fake_root):
    cg = open_cgroup("pycompose/abc")
    assert isinstance(cg, CgroupV2)
    cg.create()
    assert (fake_root / "pycompose" / "abc").is_dir()
    enabled = (fake_root / "cgroup.subtree_control").read_text().split()
    assert set(enabled) == {"+cpu", "+cpuset", "+io", "+memory", "+pids"}
    assert (fake_root / "pycompose" / "cgroup.subtree_control").read_text().split()


def test_apply_writes_v2_files(fake_root):
    cg = open_cgroup("pycompose/abc")
    cg.create()
    lim = limits_from_hostconfig({"Memory": 64 * MiB, "MemorySwap": 96 * MiB, "MemoryReservation": 16 * MiB,
                                  "NanoCpus": 500_000_000, "CpuShares": 1024, "CpusetCpus": "0",
                                  "PidsLimit": 50, "BlkioWeight": 500}, host_cpus=2)
    cg.apply(lim)
    d = fake_root / "pycompose" / "abc"
    assert (d / "memory.max").read_text() == str(64 * MiB)
    assert (d / "memory.swap.max").read_text() == str(32 * MiB)
    assert (d / "memory.low").read_text() == str(16 * MiB)
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert (d / "cpu.weight").read_text() == "39"
    assert (d / "cpuset.cpus").read_text() == "0"
    assert (d / "pids.max").read_text() == "50"
    assert (d / "io.weight").read_text() == "default 4950"


def test_stats_oom_freeze_destroy(fake_root):
    cg = open_cgroup("pycompose/abc")
    cg.create()
    d = fake_root / "pycompose" / "abc"
    (d / "memory.current").write_text("1048576\n")
    (d / "memory.max").write_text("max\n")
    (d / "cpu.stat").write_text("usage_usec 2500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n")
    (d / "pids.current").write_text("4\n")
    (d / "pids.max").write_text("100\n")
    (d / "io.stat").write_text("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    (d / "cgroup.procs").write_text("101\n102\n")
    st = cg.stats()
    assert st["memory"] == {"usage": 1048576, "max_usage": 0, "limit": 0, "stats": {}}
    assert st["cpu"]["usage_ns"] == 2_500_000
    assert st["pids"] == {"current": 4, "limit": 100}
    assert st["blkio"] == {"read_bytes": 4096, "write_bytes": 8192}
    assert cg.pids() == [101, 102]
    assert cg.oom_killed() is False
    (d / "memory.events").write_text("oom 1\noom_kill 1\n")
    assert cg.oom_killed() is True
    (d / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    cg.freeze()
    assert (d / "cgroup.freeze").read_text() == "1"
    (d / "cgroup.events").write_text("populated 1\nfrozen 0\n")
    cg.thaw()
    assert (d / "cgroup.freeze").read_text() == "0"
    cg.destroy()
    assert not d.exists()
