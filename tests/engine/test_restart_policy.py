"""Restart policies applied by the supervisor, as root: on-failure:N restarts exactly N times,
always restarts until stopped, a manual stop is final, unless-stopped after a lost supervisor."""
from __future__ import annotations

import pytest

from processes import is_zombie, kill_and_wait, kill_supervisor
from test_supervisor_fixtures import now_ns, own_root, wait_for_action  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def test_on_failure_3_restarts_exactly_3_times(eng, make):
    cid = make(["sh", "-c", "echo run; exit 3"], HostConfig={"RestartPolicy": {"Name": "on-failure",
                                                                               "MaximumRetryCount": 3}})
    t0 = now_ns()
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 3
    info = eng.containers.inspect(cid)
    assert info["RestartCount"] == 3 and info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 3
    assert [e.data for e in eng.containers.logs(cid)] == [b"run\n"] * 4
    evs = [e["Action"] for e in eng.events(filters={"container": [cid]}, since=t0 / 1e9, until=now_ns() / 1e9)]
    assert evs.count("start") == 4 and evs.count("die") == 4


def test_on_failure_does_not_restart_success(eng, make):
    cid = make(["true"], HostConfig={"RestartPolicy": {"Name": "on-failure"}})
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 0
    assert eng.containers.inspect(cid)["RestartCount"] == 0


def test_always_restarts_and_stop_is_final(eng, make):
    cid = make(["sh", "-c", "echo up; sleep 0.2; exit 0"], HostConfig={"RestartPolicy": {"Name": "always"}})
    t0 = now_ns()
    eng.containers.start(cid)
    starts = []

    def third_start(action):
        if action == "start":
            starts.append(action)
        return len(starts) == 3

    wait_for_action(eng, cid, third_start, t0)
    info = eng.containers.inspect(cid)
    assert info["RestartCount"] >= 2
    eng.containers.stop(cid, timeout=0)
    t1 = now_ns()
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "exited" and not st["Running"] and not st["Restarting"]
    # nothing starts it again: wait for the back-off it would have used (well past 100 ms .. 1.6 s)
    evs = list(eng.events(filters={"container": [cid], "event": ["start"]}, since=t1 / 1e9,
                          until=(t1 + 3_000_000_000) / 1e9))
    assert evs == []


def test_stop_during_backoff_cancels_the_restart(eng, make):
    cid = make(["sh", "-c", "exit 1"], HostConfig={"RestartPolicy": {"Name": "always"}})
    t0 = now_ns()
    eng.containers.start(cid)
    dies = []
    wait_for_action(eng, cid, lambda a: a == "die" and (dies.append(a) or len(dies) == 4), t0)
    eng.containers.stop(cid)
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "exited" and not st["Restarting"]


def test_kill_is_not_restarted(eng, make):
    cid = make(["sh", "-c", "while true; do sleep 0.05; done"], HostConfig={"RestartPolicy": {"Name": "always"}})
    eng.containers.start(cid)
    eng.containers.kill(cid)
    assert eng.containers.wait(cid) == 137
    assert eng.containers.inspect(cid)["State"]["Status"] == "exited"


def test_lost_containers_restart_on_supervisor_start_by_policy(own_root):
    from engine.api import Engine

    eng = Engine(str(own_root))
    loop = ["sh", "-c", "while true; do sleep 0.05; done"]
    made = {}
    for name, policy in (("always", "always"), ("unless", "unless-stopped"), ("plain", "no"),
                         ("stopped", "unless-stopped")):
        made[name] = eng.containers.create({"Image": "busybox", "Cmd": loop,
                                            "HostConfig": {"RestartPolicy": {"Name": policy}}})
    try:
        for cid in made.values():
            eng.containers.start(cid)
        eng.containers.stop(made["stopped"], timeout=0)
        pids = {n: eng.containers.inspect(c)["State"]["Pid"] for n, c in made.items() if n != "stopped"}
        kill_supervisor(own_root)
        for pid in pids.values():  # a reboot-like loss: every container process is gone
            kill_and_wait(pid)  # the container's pid 1, started by this test
        zombie = is_zombie(pids["plain"])
        eng.supervisor.ensure_running()
        st = {n: eng.containers.inspect(c)["State"] for n, c in made.items()}
        assert st["always"]["Running"] and st["always"]["Pid"] not in (0, pids["always"])
        assert st["unless"]["Running"] and st["unless"]["Pid"] not in (0, pids["unless"])
        # the SIGKILL's 137 is read from the zombie when nothing reaped it yet, else it is lost (255)
        assert st["plain"]["Status"] == "exited" and st["plain"]["ExitCode"] == (137 if zombie else 255)
        assert st["stopped"]["Status"] == "exited"  # stopped by hand: unless-stopped keeps it down
    finally:
        for cid in made.values():
            eng.containers.remove(cid, force=True)
