"""The supervisor end to end, as root: containers that outlive the CLI, stop semantics, events,
re-adoption after the daemon is SIGKILLed. Every test removes what it made."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.api import Engine
from engine.containers import ContainerStore
from engine.errors import Conflict
from engine.logs import time_ns
from processes import is_zombie, kill_supervisor, wait_exit
from test_supervisor_fixtures import now_ns, own_root, wait_for_action  # noqa: F401 - fixtures

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[2]


def log_entries(eng, cid):
    return [json.loads(x) for x in ContainerStore(eng.root).log_path(cid).read_text().splitlines()]


def test_supervisor_process_is_detached_and_named(eng, make):
    cid = make(["true"])
    eng.containers.start(cid)
    eng.containers.wait(cid)
    pid = int((Path(eng.root.path) / "run" / "supervisor.pid").read_text())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert f"pycompose-supervisor {eng.root.path}" in cmdline
    assert os.getsid(pid) == pid  # its own session: no terminal, no signals from ours
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "pycompose-sup"
    assert os.getppid() != pid and int(Path(f"/proc/{pid}/stat").read_text().split()[3]) != os.getpid()


def test_stop_sends_stop_signal_waits_grace_then_kills(eng, make):
    script = ("trap 'echo got-usr1' USR1; echo ready; "
              "while true; do sleep 0.05; done")
    cid = make(["sh", "-c", script], StopSignal="SIGUSR1")
    t0 = now_ns()
    eng.containers.start(cid)
    wait_for_log(eng, cid, "ready\n")
    stop_called = now_ns()
    eng.containers.stop(cid, timeout=2)
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 137  # ignored the signal: SIGKILL after 2 s
    got = [e for e in log_entries(eng, cid) if e["log"] == "got-usr1\n"]
    assert got, "the stop signal (SIGUSR1 from StopSignal) was not delivered"
    assert time_ns(got[0]["time"]) >= stop_called
    assert time_ns(st["FinishedAt"]) - time_ns(got[0]["time"]) >= 1_900_000_000  # the grace period was waited
    evs = wait_for_action(eng, cid, lambda a: a == "stop", t0)
    actions = [(e["Action"], e["Actor"]["Attributes"].get("signal")) for e in evs]
    assert ("kill", str(int(signal.SIGUSR1))) in actions and ("kill", "9") in actions
    assert [a for a, _ in actions][-2:] == ["die", "stop"]


def test_stop_of_a_process_that_handles_term_is_quick_and_keeps_its_exit_code(eng, make):
    cid = make(["sh", "-c", "trap 'exit 7' TERM; echo ready; while true; do sleep 0.05; done"])
    eng.containers.start(cid)
    wait_for_log(eng, cid, "ready\n")
    eng.containers.stop(cid, timeout=30)
    st = eng.containers.inspect(cid)["State"]
    assert st["ExitCode"] == 7 and not st["Running"]


def wait_for_log(eng, cid, text, timeout=30):
    for e in eng.containers.logs(cid, follow=True):
        if e.data.decode() == text:
            return
    raise AssertionError(f"{text!r} never logged")


def test_container_started_by_a_cli_process_that_exits_keeps_running(eng, make):
    cid = make(["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"], name="pyc-sup-outlive")
    code = ("import sys; from engine.api import Engine; Engine(sys.argv[1]).containers.start(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(eng.root.path), cid], check=True, cwd=REPO,
                   env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    st = eng.containers.inspect(cid)["State"]
    assert st["Running"] and os.path.exists(f"/proc/{st['Pid']}")
    assert cid in [c["Id"] for c in eng.containers.list()]
    seen = []
    for e in eng.containers.logs(cid, follow=True):
        seen.append(e.data.decode())
        if len(seen) == 3:
            break
    assert seen == ["tick 0\n", "tick 1\n", "tick 2\n"]
    eng.containers.kill(cid)
    assert eng.containers.wait(cid) == 137


def test_logs_follow_ends_when_the_container_exits(eng, make):
    cid = make(["sh", "-c", "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three"])
    eng.containers.start(cid)
    got = [(e.stream, e.data) for e in eng.containers.logs(cid, follow=True)]
    assert got == [("stdout", b"one\n"), ("stderr", b"two\n"), ("stdout", b"three\n")]


def test_events_for_start_die_in_order_with_labels(eng, make):
    cid = make(["sh", "-c", "exit 3"], Labels={"pyc.sup": "ev"}, name="pyc-sup-events")
    t0 = now_ns()
    eng.containers.start(cid)
    evs = wait_for_action(eng, cid, lambda a: a == "die", t0)
    assert [e["Action"] for e in evs] == ["start", "die"]
    die = evs[-1]
    assert die["Type"] == "container" and die["Actor"]["ID"] == cid
    attrs = die["Actor"]["Attributes"]
    assert attrs["exitCode"] == "3" and attrs["name"] == "pyc-sup-events" and attrs["pyc.sup"] == "ev"
    assert attrs["image"] == "busybox" and die["timeNano"] // 10**9 == die["time"]
    # a label filter that does not match sees nothing of it
    until = now_ns()
    assert [e for e in eng.events(filters={"label": ["pyc.sup=other"]}, since=t0 / 1e9, until=until / 1e9)] == []


def test_pause_unpause_and_kill_errors(eng, make):
    cid = make(["sh", "-c", "while true; do echo x; sleep 0.05; done"])
    eng.containers.start(cid)
    eng.containers.pause(cid)
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "paused" and st["Paused"] and st["Running"]
    with pytest.raises(Conflict):
        eng.containers.pause(cid)
    eng.containers.unpause(cid)
    assert eng.containers.inspect(cid)["State"]["Status"] == "running"
    eng.containers.stop(cid, timeout=0)
    with pytest.raises(Conflict, match="is not running"):
        eng.containers.kill(cid)
    with pytest.raises(Conflict, match="is not running"):
        eng.containers.pause(cid)


def test_restart_runs_it_again_and_resets_count(eng, make):
    cid = make(["sh", "-c", "echo started; while true; do sleep 0.05; done"])
    eng.containers.start(cid)
    pid1 = eng.containers.inspect(cid)["State"]["Pid"]
    t0 = now_ns()
    eng.containers.restart(cid, timeout=0)
    info = eng.containers.inspect(cid)
    assert info["State"]["Running"] and info["State"]["Pid"] != pid1 and info["RestartCount"] == 0
    evs = wait_for_action(eng, cid, lambda a: a == "restart", t0)
    assert [e["Action"] for e in evs if e["Action"] != "kill"] == ["die", "stop", "start", "restart"]
    eng.containers.stop(cid, timeout=0)


def test_start_failure_is_a_clear_error_and_state_keeps_it(eng, make):
    from engine.runtime.errors import StartError

    cid = make(["/no/such/binary"])
    with pytest.raises(StartError, match="no/such/binary") as exc:
        eng.containers.start(cid)
    assert exc.value.status == 127
    st = eng.containers.inspect(cid)["State"]
    assert not st["Running"] and st["ExitCode"] == 127 and "no/such/binary" in st["Error"]


def test_auto_remove_after_exit(eng, make):
    cid = make(["sh", "-c", "exit 0"], HostConfig={"AutoRemove": True})
    t0 = now_ns()
    eng.containers.start(cid)
    evs = wait_for_action(eng, cid, lambda a: a == "destroy", t0)
    assert [e["Action"] for e in evs] == ["start", "die", "destroy"]
    assert cid not in [c["Id"] for c in eng.containers.list(all=True)]


def _followed_numbers(eng, cid, logged: int) -> list[int]:
    """Follow the log of a container printing "<word> <n>" lines until 4 lines past the ``logged``
    ones: the numbers read, from the first line on."""
    seen = []
    for e in eng.containers.logs(cid, follow=True):
        seen.append(e.data)
        if len(seen) > logged + 3:
            break
    return [int(x.split()[1]) for x in seen]


def _wait_logged(eng, cid, data: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(e.data == data for e in eng.containers.logs(cid)):
        assert time.monotonic() < deadline, f"{data!r} not logged within {timeout}s"
        time.sleep(0.02)


def test_sigkill_supervisor_containers_keep_running_and_are_readopted(own_root):
    # Ordered by events, not by sleeps: under load a container may take longer than any fixed
    # delay to write its first line or to exit, which made this test fail on busy machines.
    eng = Engine(str(own_root))
    cid = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c",
                                 "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done"]})
    # exits with 4 once /go exists: only after its supervisor is gone, however slow the machine is
    gone = eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c",
                                  "echo up; until [ -e /go ]; do sleep 0.05; done; exit 4"]})
    try:
        eng.containers.start(cid)
        eng.containers.start(gone)
        _wait_logged(eng, cid, b"line 0\n")
        _wait_logged(eng, gone, b"up\n")
        cpid = eng.containers.inspect(cid)["State"]["Pid"]
        gpid = eng.containers.inspect(gone)["State"]["Pid"]
        sup = kill_supervisor(own_root)
        # while no supervisor runs: the container lives, and logs still read what was written
        Path(f"/proc/{gpid}/root/go").write_text("")
        wait_exit(gpid)
        assert os.path.exists(f"/proc/{cpid}")
        assert not eng.supervisor_running()
        before = [e.data for e in eng.containers.logs(cid)]
        assert before and before[0] == b"line 0\n"
        zombie = is_zombie(gpid)
        # the next call starts a new supervisor, which re-adopts the living one and marks the dead one
        new = eng.supervisor.ensure_running()
        assert new != sup
        st = eng.containers.inspect(cid)["State"]
        assert st["Running"] and st["Pid"] == cpid
        gst = eng.containers.inspect(gone)["State"]
        # its code is read from the zombie when nothing reaped it yet (an init that does not reap
        # at once), else it was lost: 255, as containerd reports
        assert gst["Status"] == "exited" and gst["ExitCode"] == (4 if zombie else 255) and not gst["Running"]
        numbers = _followed_numbers(eng, cid, len(before))
        assert numbers == list(range(len(numbers)))  # nothing lost or doubled across the gap
        eng.containers.stop(cid, timeout=0)
        assert not eng.containers.inspect(cid)["State"]["Running"]
        assert not os.path.exists(f"/proc/{cpid}") or is_zombie(cpid)
    finally:
        for c in (cid, gone):
            eng.containers.remove(c, force=True)


def test_oom_kill_is_137_and_oomkilled(eng, make):
    cid = make(["tail", "/dev/zero"], HostConfig={"Memory": 16 * 1024 * 1024, "MemorySwap": 16 * 1024 * 1024})
    t0 = now_ns()
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 137
    st = eng.containers.inspect(cid)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137
    evs = wait_for_action(eng, cid, lambda a: a == "die", t0)
    assert [e["Action"] for e in evs] == ["start", "oom", "die"]


def _write_fifo(path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_stdin_once_ends_when_the_attached_writer_closes(eng, make):
    cid = make(["sh", "-c", "cat; echo done"], OpenStdin=True, StdinOnce=True)
    eng.containers.start(cid)
    _write_fifo(ContainerStore(eng.root).dir(cid) / "stdin.fifo", b"hello\nworld\n")
    assert eng.containers.wait(cid) == 0
    assert [e.data for e in eng.containers.logs(cid)] == [b"hello\n", b"world\n", b"done\n"]


def test_open_stdin_stays_open_between_writers(eng, make):
    cid = make(["sh"], OpenStdin=True)
    eng.containers.start(cid)
    fifo = ContainerStore(eng.root).dir(cid) / "stdin.fifo"
    _write_fifo(fifo, b"echo first\n")  # a writer that leaves does not end the shell's input
    wait_for_log(eng, cid, "first\n")
    assert eng.containers.inspect(cid)["State"]["Running"]
    _write_fifo(fifo, b"echo second; exit 3\n")
    assert eng.containers.wait(cid) == 3
    assert [e.data for e in eng.containers.logs(cid)] == [b"first\n", b"second\n"]


def test_wait_conditions_next_exit_and_removed(eng, make):
    import threading

    cid = make(["sh", "-c", "read x < /dev/null; sleep 0.3; exit 9"])
    results = {}

    def waiter(cond):
        results[cond] = eng.supervisor.wait(cid, cond, timeout=60)

    eng.containers.start(cid)
    threads = [threading.Thread(target=waiter, args=(c,)) for c in ("next-exit", "removed")]
    for t in threads:
        t.start()
    assert eng.containers.wait(cid) == 9
    threads[0].join(30)
    assert results.get("next-exit") == 9 and "removed" not in results
    eng.containers.remove(cid)
    threads[1].join(30)
    assert results.get("removed") == 9


def test_wait_timeout_raises_timeouterror(eng, make):
    cid = make(["sh", "-c", "while true; do sleep 0.05; done"])
    eng.containers.start(cid)
    with pytest.raises(TimeoutError):
        eng.containers.wait(cid, timeout=0.3)
    eng.containers.stop(cid, timeout=0)


def test_event_history_survives_a_supervisor_restart(own_root):
    eng = Engine(str(own_root))
    cid = eng.containers.create({"Image": "busybox", "Cmd": ["true"]})
    try:
        t0 = now_ns()
        eng.containers.start(cid)
        eng.containers.wait(cid)
        eng.shutdown()
        assert not eng.supervisor_running()
        evs = list(eng.events(filters={"container": [cid]}, since=t0 / 1e9, until=now_ns() / 1e9))
        assert [e["Action"] for e in evs] == ["start", "die"]
    finally:
        eng.containers.remove(cid, force=True)


def _keepers(cid: str) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                argv0 = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if argv0 == f"pycompose-supervisor-tty {cid[:12]}":
                out.append(int(d))
    return out


def test_tty_container_survives_a_sigkilled_supervisor(own_root):
    eng = Engine(str(own_root))
    cid = eng.containers.create({"Image": "busybox", "Tty": True, "Cmd": ["sh", "-c",
                                 "i=0; while true; do echo t $i; i=$((i+1)); sleep 0.05; done"]})
    try:
        eng.containers.start(cid)
        cpid = eng.containers.inspect(cid)["State"]["Pid"]
        assert len(_keepers(cid)) == 1
        kill_supervisor(own_root)  # the supervisor this test started
        time.sleep(0.5)  # the shell keeps writing into its terminal meanwhile
        assert os.path.exists(f"/proc/{cpid}") and not is_zombie(cpid)
        eng.supervisor.ensure_running()
        assert eng.containers.inspect(cid)["State"]["Pid"] == cpid
        nums = _followed_numbers(eng, cid, len(list(eng.containers.logs(cid))))
        assert nums == list(range(len(nums)))  # the terminal's output went on, nothing lost
        eng.containers.stop(cid, timeout=0)
        assert _keepers(cid) == []
    finally:
        eng.containers.remove(cid, force=True)
