"""SIGKILL of the supervisor in the middle of a start and of a restart-policy restart.

The daemon that owns every container process can die at any moment. The next one (started by
the next API call) must leave each container running exactly once (adopted, or started again
by its policy; a start cut short is undone, never doubled), record exit codes, and lose no line
a container wrote: the containers here print numbered lines, and the logs are checked for gaps,
repeats and interleaving (two copies of one container would interleave their numbers).
"""
from __future__ import annotations

import os
import random
import threading
import time

import pytest

from engine.api import Engine
from engine.containers import ContainerStore
from faultkit import Inventory
from processes import kill_supervisor

pytestmark = pytest.mark.root
SEED = int(os.environ.get("PYCOMPOSE_KILL_SEED", "9"))
# numbered lines, forever (start test) or 10 per run then exit 3 (restart test)
COUNTER = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.01; done"
RUN_AND_EXIT = "echo run; i=0; while [ $i -lt 10 ]; do echo $i; i=$((i+1)); sleep 0.02; done; exit 3"


def pid_namespaces(cid: str) -> set[str]:
    """The pid namespaces of the processes in the container's cgroup: one per running copy."""
    from engine.cgroups import container_cgroup

    out = set()
    for pid in container_cgroup(cid).pids():
        try:
            out.add(os.readlink(f"/proc/{pid}/ns/pid"))
        except OSError:
            pass
    return out


def lines(eng: Engine, cid: str) -> list[str]:
    return [e.data.decode().strip() for e in eng.containers.logs(cid)]


def wait_for(pred, timeout: float = 60, what="condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"{what() if callable(what) else what} not reached within {timeout}s"
        time.sleep(0.02)


def _diagnose(eng: Engine, cid: str) -> str:
    d = ContainerStore(eng.root).dir(cid)
    st = eng.containers.inspect(cid)["State"]
    log = (eng.root.path / "run" / "supervisor.log").read_text(errors="replace").splitlines()[-15:]
    return (f"state {st['Status']} pid {st['Pid']}, files {sorted(os.listdir(d))}, "
            f"log {os.path.getsize(ContainerStore(eng.root).log_path(cid)) if ContainerStore(eng.root).log_path(cid).exists() else None}, "
            f"fds of pid 1: {_fds(st['Pid'])}\nsupervisor log:\n" + "\n".join(log))


def _fds(pid: int) -> list[str]:
    try:
        return [os.readlink(f"/proc/{pid}/fd/{n}") for n in sorted(os.listdir(f"/proc/{pid}/fd"))]
    except OSError as e:
        return [str(e)]


def test_kill_during_start(fault_root):
    eng = Engine(str(fault_root))
    inv = Inventory(fault_root)
    eng.networks.create("faultnet")
    rng = random.Random(SEED)
    trials = 8
    for trial in range(trials):
        cid = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c", COUNTER],
                                     "HostConfig": {"NetworkMode": "faultnet"}})
        eng.supervisor.ensure_running()
        t0 = time.monotonic()
        result: list = []
        th = threading.Thread(target=lambda: result.append(_try(eng.containers.start, cid)))
        th.start()
        time.sleep(rng.uniform(0.0, 0.25))  # a start takes ~0.1-0.3 s here: kills land inside it
        kill_supervisor(eng.root.path)
        th.join(60)
        # the next call brings a new daemon: the container ends up running, once
        eng.containers.start(cid)
        st = eng.containers.inspect(cid)["State"]
        assert st["Running"], (trial, st)
        assert len(pid_namespaces(cid)) == 1, (trial, result)
        wait_for(lambda: len(lines(eng, cid)) > 20,
                 what=lambda: f"trial {trial} ({result}): 20 lines; {_diagnose(eng, cid)}")
        eng.containers.stop(cid, timeout=0)
        assert eng.containers.inspect(cid)["State"]["ExitCode"] == 137
        numbers = [int(x) for x in lines(eng, cid)]
        for a, b in zip(numbers, numbers[1:]):  # each run counts from 0 with no gap or repeat
            assert b == a + 1 or b == 0, (trial, numbers)
        inv.note()
        eng.containers.remove(cid)
        sys_left = [x for x in inv.residue() if cid[:12] in x or "veth" in x]
        assert sys_left == [], (trial, sys_left)
        print(f"start trial {trial}: killed {time.monotonic() - t0:.2f}s in ({result[0]}), "
              f"{len(numbers)} lines, one copy")
    eng.networks.remove("faultnet")
    assert inv.residue() == []


def _try(fn, *args) -> str:
    try:
        fn(*args)
        return "start returned"
    except Exception as e:  # noqa: BLE001 - the daemon died under the call: that is the point
        return f"start failed: {type(e).__name__}"


def runs_of(out: list[str]) -> list[list[int]]:
    runs: list[list[int]] = []
    for x in out:
        if x == "run":
            runs.append([])
        else:
            assert runs, out
            runs[-1].append(int(x))
    return runs


def test_kill_during_restart_policy_restarts(fault_root):
    eng = Engine(str(fault_root))
    inv = Inventory(fault_root)
    rng = random.Random(SEED + 1)
    for trial in range(5):
        cid = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c", RUN_AND_EXIT],
                                     "HostConfig": {"RestartPolicy": {"Name": "always"}, "NetworkMode": "none"}})
        eng.containers.start(cid)
        wait_for(lambda: eng.containers.inspect(cid)["RestartCount"] >= 1, what="a first restart")
        time.sleep(rng.uniform(0.0, 0.8))  # running, exiting, backing off or starting again
        killed_at = time.time()
        kill_supervisor(eng.root.path)
        before = eng.containers.inspect(cid)
        time.sleep(0.4)  # meanwhile a run may end with nobody to see its exit code
        eng.supervisor.ensure_running()
        count = eng.containers.inspect(cid)["RestartCount"]
        wait_for(lambda: eng.containers.inspect(cid)["RestartCount"] >= count + 2, what="two more restarts")
        assert len(pid_namespaces(cid)) <= 1
        eng.containers.stop(cid, timeout=0)
        st = eng.containers.inspect(cid)["State"]
        assert not st["Running"] and st["ExitCode"] in (3, 137), st
        runs = runs_of(lines(eng, cid))
        cut = [r for r in runs[:-1] if r != list(range(10))]
        for r in runs:
            assert r == list(range(len(r))), (trial, runs)  # no gap, no repeat, no interleaving
        assert len(cut) <= 1, (trial, runs)  # only a run the new daemon had to undo may be short
        codes = [ev["Actor"]["Attributes"].get("exitCode") for ev in
                 eng.events(filters={"container": [cid], "event": ["die"]}, since=killed_at, until=time.time())]
        assert codes and set(codes) <= {"3", "137", "255"}, codes  # 255: exited while no daemon watched
        inv.note()
        eng.containers.remove(cid)
        assert [x for x in inv.residue() if cid[:12] in x] == []
        print(f"restart trial {trial}: {before['State']['Status']} at the kill, {len(runs)} runs, "
              f"{sum(map(len, runs))} lines all logged, exit codes {codes}")
    assert inv.residue() == []
