"""cgroup v1 on this machine's real hierarchies: limits in the files, stats, freeze, OOM kill."""
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.cgroups import detect_version, limits_from_hostconfig, open_cgroup

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(detect_version() != 1, reason="this host is not cgroup v1")]
MiB = 1024 * 1024


@pytest.fixture
def cg():
    group = open_cgroup(f"pycompose/test-{os.getpid()}-{time.monotonic_ns()}")
    group.create()
    yield group
    group.kill_all()
    group.destroy()


def _spawn_in(group, code):
    """A python child that joins ``group`` before running ``code``."""
    def join():
        group.add_pid(os.getpid())
    return subprocess.Popen([sys.executable, "-c", code], preexec_fn=join)


def test_limits_land_in_the_cgroup_files(cg):
    cg.apply(limits_from_hostconfig({"Memory": 64 * MiB, "NanoCpus": 500_000_000, "CpuShares": 512,
                                     "PidsLimit": 30, "CpusetCpus": "0"}))
    p = cg.paths
    assert int((p["memory"] / "memory.limit_in_bytes").read_text()) == 64 * MiB
    assert (p["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "50000"
    assert (p["cpu"] / "cpu.cfs_period_us").read_text().strip() == "100000"
    assert (p["cpu"] / "cpu.shares").read_text().strip() == "512"
    assert (p["pids"] / "pids.max").read_text().strip() == "30"
    assert (p["cpuset"] / "cpuset.cpus").read_text().strip() == "0"


def test_process_stats_and_freeze(cg):
    proc = _spawn_in(cg, "import time\nwhile True: time.sleep(0.01)")
    try:
        deadline = time.monotonic() + 5
        while proc.pid not in cg.pids() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.pid in cg.pids()
        st = cg.stats()
        assert st["memory"]["usage"] > 0
        assert st["pids"]["current"] >= 1
        cg.freeze()
        state = open(f"/proc/{proc.pid}/stat").read().split(") ")[1].split()[0]
        assert (cg.paths["freezer"] / "freezer.state").read_text().strip() == "FROZEN"
        cg.thaw()
        assert (cg.paths["freezer"] / "freezer.state").read_text().strip() == "THAWED"
        assert state in ("S", "D", "R", "T")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_oom_kill_is_reported(cg):
    cg.apply(limits_from_hostconfig({"Memory": 32 * MiB, "MemorySwap": 32 * MiB}))
    proc = _spawn_in(cg, "x = bytearray(256 * 1024 * 1024)\nx[::4096] = b'1' * len(x[::4096])")
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert cg.oom_killed() is True


def test_no_oom_reported_without_one(cg):
    cg.apply(limits_from_hostconfig({"Memory": 64 * MiB}))
    proc = _spawn_in(cg, "pass")
    assert proc.wait(timeout=30) == 0
    assert cg.oom_killed() is False
