"""engine.api containers end to end, as root, with real containers from the busybox image:
create/start/inspect/list/stop/remove, exit codes, logs, exec, top, stats, cp, pause, wait.
Every test removes the containers (and volumes) it made."""
from __future__ import annotations

import io
import os
import tarfile
import time

import pytest

from engine.containers import ContainerStore
from engine.errors import Conflict, EngineError, InvalidArgument, NotFound

pytestmark = pytest.mark.root


def out_of(eng, cid, **kw) -> bytes:
    return b"".join(e.data for e in eng.containers.logs(cid, **kw))


def test_create_inspect_list_remove(eng, make):
    cid = make(["sh", "-c", "echo hi"], name="pyc-api-created", Labels={"pyc.test": "yes", "k": "v"},
               Env=["A=1"])
    assert len(cid) == 64
    info = eng.containers.inspect("pyc-api-created")
    assert info["Id"] == cid and info["Name"] == "/pyc-api-created"
    assert info["Image"].startswith("sha256:") and info["Config"]["Image"] == "busybox"
    assert info["Config"]["Hostname"] == cid[:12]
    assert info["Config"]["Env"][0] == "A=1" and any(e.startswith("PATH=") for e in info["Config"]["Env"])
    assert info["Path"] == "sh" and info["Args"] == ["-c", "echo hi"]
    assert info["State"]["Status"] == "created" and info["State"]["Running"] is False
    assert info["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert info["LogPath"].endswith(f"{cid}-json.log")
    assert eng.containers.inspect(cid[:10])["Id"] == cid
    assert cid not in [c["Id"] for c in eng.containers.list()]  # not running
    listed = {c["Id"]: c for c in eng.containers.list(all=True, filters={"label": ["pyc.test=yes"]})}
    assert listed[cid]["Status"] == "Created" and listed[cid]["State"] == "created"
    assert listed[cid]["Names"] == ["/pyc-api-created"] and listed[cid]["Command"] == "sh -c 'echo hi'"
    assert not eng.containers.list(all=True, filters={"label": ["pyc.test=no"]})
    assert [c["Id"] for c in eng.containers.list(all=True, filters={"name": ["pyc-api-cr"]})] == [cid]
    with pytest.raises(Conflict, match='name "/pyc-api-created" is already in use'):
        eng.containers.create({"Image": "busybox"}, name="pyc-api-created")
    eng.containers.remove(cid)
    with pytest.raises(NotFound, match="No such container"):
        eng.containers.inspect(cid)


def test_create_refuses_bad_input_and_keeps_nothing(eng):
    before = set(ContainerStore(eng.root).ids())
    with pytest.raises(NotFound, match="No such image: nothere"):
        eng.containers.create({"Image": "nothere"})
    with pytest.raises(InvalidArgument, match="unknown policy"):
        eng.containers.create({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}})
    with pytest.raises(InvalidArgument, match="Minimum memory limit"):
        eng.containers.create({"Image": "busybox", "HostConfig": {"Memory": 1024}})
    with pytest.raises(InvalidArgument, match="invalid characters for a local volume name|includes invalid"):
        eng.containers.create({"Image": "busybox", "HostConfig": {"Binds": ["bad$name:/x"]}})
    assert set(ContainerStore(eng.root).ids()) == before


def test_start_wait_exit_code_and_logs(eng, make):
    cid = make(["sh", "-c", "echo out; echo err >&2; exit 3"])
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 3
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 3 and not st["Running"]
    assert out_of(eng, cid) == b"out\nerr\n"
    assert out_of(eng, cid, stderr=False) == b"out\n"
    assert out_of(eng, cid, stdout=False) == b"err\n"
    entries = list(eng.containers.logs(cid))
    assert [e.stream for e in entries] == ["stdout", "stderr"]
    c = next(c for c in eng.containers.list(all=True) if c["Id"] == cid)
    assert c["Status"].startswith("Exited (3) ") and c["Status"].endswith(" ago")
    assert [x["Id"] for x in eng.containers.list(all=True, filters={"exited": ["3"]})] == [cid]
    assert cid not in [x["Id"] for x in eng.containers.list(all=True, filters={"exited": ["0"]})]


def test_stop_remove_running_and_force(eng, make):
    cid = make(["sleep", "300"], StopTimeout=1)
    eng.containers.start(cid)
    info = eng.containers.inspect(cid)
    assert info["State"]["Running"] and info["State"]["Pid"] > 0
    c = next(c for c in eng.containers.list() if c["Id"] == cid)
    assert c["State"] == "running" and c["Status"].startswith("Up ")
    with pytest.raises(Conflict, match="container is running: stop the container before removing or force remove"):
        eng.containers.remove(cid)
    eng.containers.stop(cid, timeout=1)
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 137  # pid 1 ignores SIGTERM: killed after 1 s
    eng.containers.start(cid)
    eng.containers.remove(cid, force=True)
    with pytest.raises(NotFound):
        eng.containers.inspect(cid)


def test_exec_output_exit_code_env_user_workdir(eng, make, tmp_path):
    cid = make(["sleep", "300"], Env=["FROM_CONTAINER=1"])
    eng.containers.start(cid)
    out = tmp_path / "out"
    with open(out, "wb") as f:
        code = eng.containers.exec(cid, ["sh", "-c", "echo $FROM_CONTAINER $EXTRA; id -u; pwd; exit 5"],
                                   env=["EXTRA=x"], user="65534", workdir="/tmp", stdout=f, stderr=f)
    assert code == 5
    assert out.read_bytes() == b"1 x\n65534\n/tmp\n"
    buf = io.BytesIO()
    assert eng.containers.exec(cid, ["cat"], stdin=io.BytesIO(b"through stdin"), stdout=buf) == 0
    assert buf.getvalue() == b"through stdin"
    buf = io.BytesIO()
    assert eng.containers.exec(cid, ["sh", "-c", "cat /proc/1/cmdline"], stdout=buf) == 0
    assert buf.getvalue().split(b"\0")[:2] == [b"sleep", b"300"]
    with pytest.raises(EngineError, match="executable file not found") as e:
        eng.containers.exec(cid, ["nonexistent-cmd"])
    assert e.value.status == 127


def test_exec_refused_when_not_running(eng, make):
    cid = make(["true"])
    with pytest.raises(Conflict, match="is not running"):
        eng.containers.exec(cid, ["true"])


def test_top_stats_port(eng, make):
    cid = make(["sleep", "300"])
    eng.containers.start(cid)
    top = eng.containers.top(cid)
    assert top["Titles"][:3] == ["UID", "PID", "PPID"] and top["Titles"][-1] == "CMD"
    assert [r[-1] for r in top["Processes"]] == ["sleep 300"]
    s1 = eng.containers.stats(cid)
    s2 = eng.containers.stats(cid, previous=s1)
    assert s2["id"] == cid and s2["name"].startswith("/")
    assert s2["pids_stats"]["current"] == 1
    assert s2["memory_stats"]["usage"] > 0 and s2["memory_stats"]["limit"] > 0
    assert s2["cpu_stats"]["system_cpu_usage"] >= s1["cpu_stats"]["system_cpu_usage"]
    assert s2["precpu_stats"] == s1["cpu_stats"]
    assert "eth0" in s2["networks"] and "lo" not in s2["networks"]
    assert eng.containers.port(cid) == {}


def test_pause_unpause(eng, make):
    cid = make(["sleep", "300"])
    eng.containers.start(cid)
    eng.containers.pause(cid)
    st = eng.containers.inspect(cid)["State"]
    assert st["Status"] == "paused" and st["Paused"]
    assert next(c for c in eng.containers.list() if c["Id"] == cid)["Status"].endswith("(Paused)")
    with pytest.raises(Conflict):
        eng.containers.remove(cid)
    eng.containers.unpause(cid)
    assert eng.containers.inspect(cid)["State"]["Status"] == "running"


def _tar(files: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for name, target in (links or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.SYMTYPE
            ti.linkname = target
            t.addfile(ti)
    buf.seek(0)
    return buf


def test_copy_in_and_out_never_leaves_the_container_root(eng, make, tmp_path):
    cid = make(["sleep", "300"])
    eng.containers.start(cid)
    # a link inside the container pointing at the host's view of "/" must resolve inside the container
    assert eng.containers.exec(cid, ["ln", "-s", "/", "/tmp/escape"]) == 0
    assert eng.containers.exec(cid, ["ln", "-s", str(tmp_path), "/tmp/hostdir"]) == 0
    with pytest.raises(NotFound, match="Could not find the file /tmp/hostdir"):  # no such dir inside
        eng.containers.copy_to(cid, "/tmp/hostdir", _tar({"planted": b"x"}))
    assert eng.containers.exec(cid, ["mkdir", "-p", str(tmp_path)]) == 0
    eng.containers.copy_to(cid, "/tmp", _tar({"hello.txt": b"hi there"}))
    eng.containers.copy_to(cid, "/tmp/hostdir", _tar({"planted": b"x"}))
    assert not (tmp_path / "planted").exists()
    buf = io.BytesIO()
    assert eng.containers.exec(cid, ["cat", f"{tmp_path}/planted"], stdout=buf) == 0  # it went inside
    assert buf.getvalue() == b"x"
    with pytest.raises(Exception, match="refusing"):
        eng.containers.copy_to(cid, "/tmp", _tar({"../../../../x": b"x"}))
    out = io.BytesIO()
    stat = eng.containers.copy_from(cid, "/tmp/hello.txt", out)
    assert stat["name"] == "hello.txt" and stat["size"] == 8
    out.seek(0)
    with tarfile.open(fileobj=out) as t:
        assert t.extractfile("hello.txt").read() == b"hi there"
    out = io.BytesIO()
    eng.containers.copy_from(cid, "/tmp/escape", out)  # the link itself, not what it points at
    out.seek(0)
    with tarfile.open(fileobj=out) as t:
        m = t.getmembers()
    assert len(m) == 1 and m[0].issym() and m[0].linkname == "/"
    eng.containers.stop(cid, timeout=0)
    # stopped: reads come from the upper dir over the image layers, writes go to the upper dir
    out = io.BytesIO()
    eng.containers.copy_from(cid, "/etc/passwd", out)
    out.seek(0)
    with tarfile.open(fileobj=out) as t:
        assert b"root:" in t.extractfile("passwd").read()
    eng.containers.copy_to(cid, "/", _tar({"copied-while-stopped": b"ok"}))
    out = io.BytesIO()
    eng.containers.copy_from(cid, "/copied-while-stopped", out)
    assert out.getvalue()


def test_wait_conditions_and_rename(eng, make):
    cid = make(["sh", "-c", "exit 4"])
    assert eng.containers.wait(cid) == 0  # created, never ran: not running already
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 4
    with pytest.raises(InvalidArgument):
        eng.containers.wait(cid, condition="sometime")
    eng.containers.rename(cid, "pyc-api-renamed")
    assert eng.containers.inspect("pyc-api-renamed")["Id"] == cid
    with pytest.raises(InvalidArgument):
        eng.containers.rename(cid, "bad/name")


def test_logs_follow_continues_across_restarts_until_the_policy_gives_up(eng, make):
    cid = make(["sh", "-c", "echo run; sleep 0.3; exit 1"],
               HostConfig={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})
    eng.containers.start(cid)
    got = b"".join(e.data for e in eng.containers.logs(cid, follow=True))
    assert got == b"run\nrun\nrun\n"  # the first run and exactly two restarts
    info = eng.containers.inspect(cid)
    assert info["RestartCount"] == 2 and info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 1


@pytest.mark.timeout(120)
def test_exec_detached_leaves_no_zombie_that_keeps_the_container_alive(eng, make):
    cid = make(["sleep", "300"])
    eng.containers.start(cid)
    assert eng.containers.exec(cid, ["sh", "-c", "sleep 0.2"], detach=True) == 0
    with pytest.raises(EngineError, match="executable file not found"):
        eng.containers.exec(cid, ["no-such-binary"], detach=True)
    buf = io.BytesIO()
    eng.containers.exec(cid, ["sh", "-c", "sleep 0.5"], stdout=buf)  # the detached one has ended by now
    # an unreaped exec'd process (a zombie in the container's pid namespace) would hold pid 1 in
    # zap_pid_ns_processes forever and this stop would never return
    eng.containers.stop(cid, timeout=0)
    assert eng.containers.inspect(cid)["State"]["Status"] == "exited"
