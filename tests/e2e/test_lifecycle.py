"""stop/start/restart/kill/pause/unpause/rm, exec, run, down -v: end to end."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.root


def states(c):
    return {r["Service"]: r["State"] for r in c.ps("-a")}


def test_stop_start_restart_kill_rm(compose_factory):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    c.run("stop", "-t", "1", "a", check=True)
    assert states(c) == {"a": "exited", "b": "running"}
    c.run("start", "a", check=True)
    assert states(c) == {"a": "running", "b": "running"}
    started = c.inspect(f"{c.project}-b-1")["State"]["StartedAt"]
    c.run("restart", "-t", "1", "b", check=True)
    assert c.inspect(f"{c.project}-b-1")["State"]["StartedAt"] > started
    c.run("kill", "-s", "SIGKILL", "a", check=True)
    assert states(c)["a"] == "exited"
    r = c.run("rm", "-f", check=True)
    assert states(c) == {"b": "running"}
    c.run("rm", "-f", "-s", "b", check=True)
    assert states(c) == {}


def test_pause_unpause(compose_factory):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    c.run("pause", "a", check=True)
    assert states(c)["a"] == "paused"
    c.run("unpause", "a", check=True)
    assert states(c)["a"] == "running"


def test_exec_env_workdir_user_and_exit_code(compose_factory):
    c = compose_factory("basic")
    c.run("up", "-d", "--wait", check=True)
    r = c.run("exec", "-T", "-e", "X=42", "-w", "/tmp", "tool", "sh", "-c", "echo $GREETING $X $(pwd) $(id -u)",
              check=True)
    assert r.stdout.strip() == "hi 42 /tmp 0"
    assert c.run("exec", "-T", "-u", "1234", "tool", "id", "-u", check=True).stdout.strip() == "1234"
    assert c.run("exec", "-T", "tool", "sh", "-c", "exit 5").returncode == 5
    r = c.run("exec", "-T", "nope", "true")
    assert r.returncode == 1 and "no such service: nope" in r.stderr


def test_run_rm_returns_the_command_code_and_leaves_nothing(compose_factory):
    c = compose_factory("basic")
    r = c.run("run", "--rm", "-T", "-e", "X=7", "tool", "sh", "-c", "echo out-$X; exit 7")
    assert r.returncode == 7 and "out-7" in r.stdout
    # dependencies were brought up first (web healthy), the one-off container is gone
    assert {x["Service"] for x in c.ps("-a")} == {"web"}
    r = c.run("run", "-d", "--name", f"{c.project}-oneoff", "tool", "sleep", "60", check=True)
    assert r.stdout.strip() == f"{c.project}-oneoff"
    lb = c.inspect(f"{c.project}-oneoff")["Config"]["Labels"]
    assert lb["com.docker.compose.oneoff"] == "True"


def test_run_no_deps_entrypoint_and_volume(compose_factory, tmp_path):
    c = compose_factory("basic")
    (tmp_path / "f.txt").write_text("from host\n")
    r = c.run("run", "--rm", "-T", "--no-deps", "-v", f"{tmp_path}:/mnt:ro", "--entrypoint", "cat", "tool",
              "/mnt/f.txt")
    assert r.returncode == 0 and r.stdout == "from host\n", r.stderr
    assert c.ps("-a") == []


def test_down_v_removes_containers_networks_and_volumes(compose_factory):
    c = compose_factory("oneshot")
    c.run("up", "-d", "--wait", check=True)
    eng = c.engine()
    assert any(v["Name"] == f"{c.project}_data" for v in eng.volumes.list())
    r = c.run("down", "-v", "-t", "1", check=True)
    assert f"Volume {c.project}_data  Removed" in r.stderr
    assert c.ps("-a") == []
    assert not [v for v in eng.volumes.list() if v["Name"].startswith(c.project)]
    assert not [n for n in eng.networks.list() if n["Name"].startswith(c.project)]


def test_down_without_the_compose_file_uses_labels(compose_factory, tmp_path):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    import subprocess
    r = subprocess.run(c.cmd("down", "-t", "1"), cwd=tmp_path, env=c.env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert c.ps("-a") == []


def test_cp_both_ways(compose_factory, tmp_path):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    (tmp_path / "in.txt").write_text("hello cp\n")
    c.run("cp", str(tmp_path / "in.txt"), "a:/tmp/in.txt", check=True)
    assert c.run("exec", "-T", "a", "cat", "/tmp/in.txt", check=True).stdout == "hello cp\n"
    c.run("cp", "a:/tmp/in.txt", str(tmp_path / "back.txt"), check=True)
    assert (tmp_path / "back.txt").read_text() == "hello cp\n"


def test_wait_returns_exit_code(compose_factory):
    c = compose_factory("exitcode")
    c.run("up", "-d", "tests", "--no-deps", check=True)
    r = c.run("wait", "tests")
    assert r.returncode == 3 and r.stdout.strip() == "3"


def test_run_forwards_stdin_and_its_end(compose_factory):
    c = compose_factory("basic")
    r = c.run("run", "--rm", "-T", "--no-deps", "tool", "sh", "-c", "cat; echo done", input="piped line\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "piped line\ndone\n"
    assert c.ps("-a") == []
