"""Resource limits seen from outside, as root: OOM kill reported as 137 + OOMKilled, a fork bomb
stopped at --pids-limit, --cpus in the CFS files, an rlimit above the hard limit refused clearly,
and a named volume outliving its container."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from cgroup_paths import cgroup_file, group_dir
from engine.cgroups import detect_version
from engine.errors import NotFound

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[2]


def create(eng, made, cmd, **hc) -> str:
    cid = eng.containers.create({"Image": "busybox", "Cmd": cmd, "HostConfig": hc})
    made.append(cid)
    return cid


def test_over_the_memory_limit_is_oom_killed_137(eng, made):
    mem = 16 * 1024 * 1024
    # a shell variable of 64 MiB cannot fit in 16 MiB without swap
    cid = create(eng, made, ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"],
                 Memory=mem, MemorySwap=mem)
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 137
    st = eng.containers.inspect(cid)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137
    assert b"survived" not in b"".join(e.data for e in eng.containers.logs(cid))


def test_fork_bomb_stops_at_the_pids_limit(eng, made):
    # the inner shell forks until the kernel refuses; pid 1 then waits without forking (exec)
    cid = create(eng, made, ["sh", "-c", "sh -c 'while :; do sleep 300 & done'; echo stopped $?; exec sleep 300"],
                 PidsLimit=10)
    eng.containers.start(cid)
    # stdout and stderr are separate pipes pumped separately: "stopped" can be logged before the
    # shell's earlier "can't fork" (on a busy machine it was), so follow until both are in
    stopped, errors = None, b""
    for e in eng.containers.logs(cid, follow=True):
        if e.stream == "stdout" and b"stopped" in e.data:
            stopped = e.data
        elif e.stream == "stderr":
            errors += e.data
        if stopped and (b"can't fork" in errors or b"Resource temporarily unavailable" in errors):
            break
    assert stopped == b"stopped 2\n"
    pids_dir = group_dir(eng.containers.inspect(cid)["State"]["Pid"], "pids")
    assert pids_dir.name == cid
    assert (pids_dir / "pids.max").read_text().strip() == "10"
    assert int((pids_dir / "pids.current").read_text()) <= 10
    assert int(eng.containers.stats(cid)["pids_stats"]["current"]) <= 10
    eng.containers.kill(cid)


def test_cpus_and_shares_show_in_the_cfs_files(eng, made):
    cid = create(eng, made, ["sleep", "300"], NanoCpus=500_000_000, CpuShares=512)
    eng.containers.start(cid)
    cpu = group_dir(eng.containers.inspect(cid)["State"]["Pid"], "cpu")
    assert cpu.name == cid
    if detect_version() == 2:
        assert (cpu / "cpu.max").read_text().strip() == "50000 100000"
        assert (cpu / "cpu.weight").read_text().strip() == "20"  # 512 shares on runc's v2 scale
    else:
        assert (cpu / "cpu.cfs_period_us").read_text().strip() == "100000"
        assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert (cpu / "cpu.shares").read_text().strip() == "512"
    eng.containers.kill(cid)


def test_memory_and_blkio_weight_show_in_the_cgroup_files(eng, made):
    mem = 48 * 1024 * 1024
    cid = create(eng, made, ["sleep", "300"], Memory=mem, BlkioWeight=300)
    eng.containers.start(cid)
    pid = eng.containers.inspect(cid)["State"]["Pid"]
    assert int(cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max").read_text()) == mem
    if detect_version() == 2:
        d = group_dir(pid, "io")
        bfq = d / "io.bfq.weight"
        if bfq.exists():
            assert bfq.read_text().split()[-1] == "300"
        else:
            assert (d / "io.weight").read_text().strip() == "default 2930"
        assert int((d / "memory.swap.max").read_text()) == mem  # MemorySwap 0: as much swap again
    assert int(eng.containers.stats(cid)["memory_stats"]["limit"]) == mem
    eng.containers.kill(cid)


def test_named_volume_survives_removing_and_recreating(eng, made):
    vol = "pyc-limits-" + secrets.token_hex(4)
    try:
        cid = create(eng, made, ["sh", "-c", "echo kept > /data/file"], Binds=[f"{vol}:/data"])
        eng.containers.start(cid)
        assert eng.containers.wait(cid) == 0
        eng.containers.remove(cid, volumes=True)  # -v removes anonymous volumes only
        made.remove(cid)
        assert eng.volumes.inspect(vol)["Name"] == vol
        cid2 = create(eng, made, ["cat", "/data/file"], Binds=[f"{vol}:/data"])
        eng.containers.start(cid2)
        assert eng.containers.wait(cid2) == 0
        assert b"".join(e.data for e in eng.containers.logs(cid2)) == b"kept\n"
        assert cid2 in eng.volumes.users(vol)
    finally:
        for cid in list(made):
            eng.containers.remove(cid, force=True)
            made.remove(cid)
        eng.volumes.remove(vol, force=True)


def test_anonymous_volumes_go_with_rm_v(eng, made):
    cid = create(eng, made, ["sh", "-c", "echo x > /anon/f"], Binds=["/anon"])
    info = eng.containers.inspect(cid)
    anon = [m["Name"] for m in info["Mounts"] if m["Type"] == "volume"]
    assert len(anon) == 1 and eng.volumes.inspect(anon[0])["Labels"] == {"com.docker.volume.anonymous": ""}
    eng.containers.start(cid)
    eng.containers.wait(cid)
    eng.containers.remove(cid, volumes=True)
    made.remove(cid)
    with pytest.raises(NotFound):
        eng.volumes.inspect(anon[0])


def test_nofile_above_the_hard_limit_fails_clearly(session_root, busybox):
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    name = "pyc-ulimit-" + secrets.token_hex(4)
    try:
        r = subprocess.run([sys.executable, "-m", "compose.cli.main", "container", "run", "--name", name,
                            "--ulimit", "nofile=30000:30000", "busybox", "true"],
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert r.returncode == 125
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert "nofile" in r.stderr and "30000" in r.stderr
    finally:
        subprocess.run([sys.executable, "-m", "compose.cli.main", "container", "rm", "-f", name],
                       capture_output=True, env=env, cwd=REPO, timeout=120)
