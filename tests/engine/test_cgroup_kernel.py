"""The engine's cgroups on this host's real hierarchy, v1 or v2 (the v2 runs happen in the
scripts/test-cgroup2-vm guest): limits in the kernel's files, stats, freeze, OOM kill,
killing a forking group, device filtering, and on v2 the delegated-subtree placement."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cgroups import detect_version, limits_from_hostconfig, open_cgroup

pytestmark = pytest.mark.root
MiB = 1024 * 1024
V2 = detect_version() == 2
only_v2 = pytest.mark.skipif(not V2, reason="cgroup v2 only (runs in scripts/test-cgroup2-vm)")


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


def _file(cg, controller: str, v1: str, v2: str) -> Path:
    return cg.dir / v2 if V2 else cg.paths[controller] / v1


def _text(p: Path) -> str:
    return p.read_text().strip()


def _wait(pred, what: str, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_limits_land_in_the_cgroup_files(cg):
    cg.apply(limits_from_hostconfig({"Memory": 64 * MiB, "MemoryReservation": 32 * MiB, "NanoCpus": 500_000_000,
                                     "CpuShares": 512, "PidsLimit": 30, "CpusetCpus": "0"}))
    assert int(_text(_file(cg, "memory", "memory.limit_in_bytes", "memory.max"))) == 64 * MiB
    assert int(_text(_file(cg, "memory", "memory.soft_limit_in_bytes", "memory.low"))) == 32 * MiB
    if V2:
        assert _text(cg.dir / "cpu.max") == "50000 100000"
        assert _text(cg.dir / "cpu.weight") == "20"  # 512 shares on runc's scale
        assert int(_text(cg.dir / "memory.swap.max")) == 64 * MiB  # swap defaults to as much again
    else:
        assert _text(cg.paths["cpu"] / "cpu.cfs_quota_us") == "50000"
        assert _text(cg.paths["cpu"] / "cpu.cfs_period_us") == "100000"
        assert _text(cg.paths["cpu"] / "cpu.shares") == "512"
    assert _text(_file(cg, "pids", "pids.max", "pids.max")) == "30"
    assert _text(_file(cg, "cpuset", "cpuset.cpus", "cpuset.cpus")) == "0"


@only_v2
def test_v2_controllers_are_handed_down_to_the_group(cg):
    parent = cg.dir.parent
    assert {"cpu", "io", "memory", "pids", "cpuset"} <= set(_text(parent / "cgroup.subtree_control").split())
    assert {"cpu", "io", "memory", "pids", "cpuset"} <= set(_text(cg.dir / "cgroup.controllers").split())


def test_blkio_weight_lands_in_the_io_controller(cg):
    warnings = cg.apply(limits_from_hostconfig({"BlkioWeight": 300}))
    if V2:
        bfq = cg.dir / "io.bfq.weight"
        if bfq.exists():  # BFQ takes blkio's own scale
            assert _text(bfq).split()[-1] == "300"
        else:
            assert _text(cg.dir / "io.weight") == "default 2930"
        assert warnings == []
    elif (cg.paths["blkio"] / "blkio.weight").exists():
        assert _text(cg.paths["blkio"] / "blkio.weight") == "300"
    else:
        assert any("Block I/O weight" in w for w in warnings)


def test_process_stats_and_freeze(cg):
    proc = _spawn_in(cg, "import time\nn = 0\nwhile True:\n    n += 1\n    time.sleep(0.01)")
    try:
        _wait(lambda: proc.pid in cg.pids(), "the child in the group")
        st = cg.stats()
        assert st["memory"]["usage"] > 0
        assert st["pids"]["current"] >= 1
        assert st["cpu"]["usage_ns"] > 0
        cg.freeze()
        if V2:
            assert "frozen 1" in (cg.dir / "cgroup.events").read_text()
            assert cg.frozen()
        else:
            assert _text(cg.paths["freezer"] / "freezer.state") == "FROZEN"
        used = cg.stats()["cpu"]["usage_ns"]
        time.sleep(0.3)
        assert cg.stats()["cpu"]["usage_ns"] == used  # frozen: not one more instruction
        cg.thaw()
        if V2:
            assert "frozen 0" in (cg.dir / "cgroup.events").read_text()
        else:
            assert _text(cg.paths["freezer"] / "freezer.state") == "THAWED"
        _wait(lambda: cg.stats()["cpu"]["usage_ns"] > used, "the thawed child to run again")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_oom_kill_is_reported(cg):
    cg.apply(limits_from_hostconfig({"Memory": 32 * MiB, "MemorySwap": 32 * MiB}))
    proc = _spawn_in(cg, "x = bytearray(256 * 1024 * 1024)\nx[::4096] = b'1' * len(x[::4096])")
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert cg.oom_killed() is True
    if V2:
        assert "oom_kill 1" in (cg.dir / "memory.events").read_text()


def test_no_oom_reported_without_one(cg):
    cg.apply(limits_from_hostconfig({"Memory": 64 * MiB}))
    proc = _spawn_in(cg, "pass")
    assert proc.wait(timeout=120) == 0
    assert cg.oom_killed() is False


def test_kill_all_stops_a_group_that_keeps_forking(cg):
    cg.apply(limits_from_hostconfig({"PidsLimit": 40}))
    proc = _spawn_in(cg, "import os, time\nwhile True:\n    try:\n        if os.fork() == 0:\n"
                         "            time.sleep(60); os._exit(0)\n    except OSError:\n        time.sleep(0.01)")
    try:
        _wait(lambda: len(cg.pids()) >= 5, "the group to fork")
        cg.kill_all()
        assert proc.wait(timeout=60) == -signal.SIGKILL
        _wait(lambda: cg.pids() == [], "every member to be gone")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@only_v2
def test_v2_unusable_controllers_warn_instead_of_failing():
    # a service delegated with memory and pids only: cpu limits cannot be enforced, and the
    # levels above the delegated group are the service manager's, never written to
    top = Path("/sys/fs/cgroup") / f"pyc-test-{os.getpid()}-{time.monotonic_ns()}.slice"
    svc = top / "x.service"
    svc.mkdir(parents=True)
    group = None
    try:
        (top / "cgroup.subtree_control").write_text("+memory +pids")
        group = open_cgroup(f"{top.name}/x.service/pycompose/c")
        group.delegated_base = f"{top.name}/x.service"
        group.create()
        warnings = group.apply(limits_from_hostconfig({"Memory": 64 * MiB, "NanoCpus": 500_000_000,
                                                       "CpuShares": 512, "CpusetCpus": "0"}))
        assert int(_text(group.dir / "memory.max")) == 64 * MiB
        assert set(_text(top / "cgroup.subtree_control").split()) == {"memory", "pids"}
        assert any("CPU cfs quota" in w for w in warnings)
        assert any("CPU shares" in w for w in warnings)
        assert any("cpuset" in w for w in warnings)
    finally:
        if group is not None:
            group.destroy()
        for d in (svc / "pycompose", svc, top):
            if d.exists():
                d.rmdir()


@only_v2
def test_v2_a_delegated_service_keeps_its_groups_inside_its_subtree(tmp_path, monkeypatch):
    monkeypatch.delenv("PYCOMPOSE_CGROUP_PARENT", raising=False)
    monkeypatch.setenv("PYCOMPOSE_CGROUP_INDEX", str(tmp_path / "index"))
    svc = Path("/sys/fs/cgroup") / f"pyc-test-{os.getpid()}-{time.monotonic_ns()}.service"
    svc.mkdir()
    cid = "c0ffee" + os.urandom(4).hex()
    try:
        os.setxattr(svc, "trusted.delegate", b"1")  # what systemd sets for Delegate=yes
        # a process of the service (in its group, which has no leaf yet) makes a container's group
        code = ("import os, sys\n"
                "open(sys.argv[1] + '/cgroup.procs', 'w').write(str(os.getpid()))\n"
                "from engine.cgroups import container_cgroup\n"
                "cg = container_cgroup(sys.argv[2]); cg.create()\n"
                "print(cg.dir); print(open('/proc/self/cgroup').read().strip())")
        r = subprocess.run([sys.executable, "-c", code, str(svc), cid], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2], timeout=120)
        assert r.returncode == 0, r.stderr
        made, own = r.stdout.splitlines()
        assert made == f"{svc}/pycompose/{cid}"
        assert own == f"0::/{svc.name}/init"  # moved to a leaf: the service's group now hands controllers down
        assert {"cpu", "io", "memory", "pids"} <= set(_text(svc / "cgroup.subtree_control").split())
        assert not (Path("/sys/fs/cgroup/pycompose") / cid).exists()
        # another process (a CLI outside the service) finds the group where the service put it
        from engine.cgroups import container_cgroup

        found = container_cgroup(cid)
        assert found.dir == Path(made) and found.exists()
        found.destroy()
        assert not Path(made).exists() and not (tmp_path / "index" / cid).exists()
    finally:
        for d in (svc / "pycompose" / cid, svc / "pycompose", svc / "init", svc):
            if d.exists():
                d.rmdir()
