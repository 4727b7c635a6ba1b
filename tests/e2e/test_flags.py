"""More flags end to end: create, attach selection, abort on failure, run options, stats, events."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.root


def test_create_then_up_starts_without_recreating(compose_factory):
    c = compose_factory("changed")
    c.run("create", check=True)
    ids = {r["Name"]: r["ID"] for r in c.ps("-a")}
    assert {r["State"] for r in c.ps("-a")} == {"created"}
    c.run("up", "-d", check=True)
    assert {r["Name"]: r["ID"] for r in c.ps()} == ids


def test_abort_on_container_failure_returns_the_failing_code(compose_factory):
    c = compose_factory("exitcode")
    r = c.run("up", "--abort-on-container-failure", "--no-color")
    assert r.returncode == 3
    assert "Aborting on container exit..." in r.stdout


def test_attach_only_selected_services(compose_factory):
    c = compose_factory("exitcode")
    r = c.run("up", "--attach", "server", "--abort-on-container-exit", "--no-color", "-t", "1")
    # tests exits (and so aborts the run) but its output is not shown
    assert "running tests" not in r.stdout and r.stdout.startswith(f"Attaching to {c.project}-server-1")
    r = c.run("up", "--no-attach", "server", "--exit-code-from", "tests", "--no-color", "-t", "1")
    assert r.returncode == 3 and "tests failed" in r.stdout and f"{c.project}-server-1  |" not in r.stdout


def test_run_user_workdir_label_ports_and_aliases(compose_factory):
    c = compose_factory("basic")
    c.run("up", "-d", "--wait", check=True)
    r = c.run("run", "--rm", "-T", "--no-deps", "-u", "4321", "-w", "/tmp", "tool", "sh", "-c", "id -u; pwd",
              check=True)
    assert r.stdout.split() == ["4321", "/tmp"]
    name = f"{c.project}-aliased"
    c.run("run", "-d", "--no-deps", "--name", name, "-l", "team=qa", "--use-aliases", "-p", "127.0.0.1:18081:80",
          "tool", "httpd", "-f", "-p", "80", "-h", "/", check=True)
    info = c.inspect(name)
    assert info["Config"]["Labels"]["team"] == "qa"
    assert info["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18081"}]
    aliases = next(iter(info["NetworkSettings"]["Networks"].values()))["Aliases"] or []
    assert "tool" in aliases
    # the service's own ports are not published by `run` unless --service-ports
    r = c.run("run", "--rm", "-T", "--no-deps", "web", "true", check=True)
    assert r.returncode == 0


def test_exec_detached_and_index(compose_factory):
    c = compose_factory("scale")
    c.run("up", "-d", "--scale", "web=2", check=True)
    c.run("exec", "-d", "--index", "2", "web", "sh", "-c", "echo x > /tmp/marker", check=True)
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if c.run("exec", "-T", "--index", "2", "web", "cat", "/tmp/marker").stdout.strip() == "x":
            break
        time.sleep(0.1)
    assert c.run("exec", "-T", "--index", "2", "web", "cat", "/tmp/marker").stdout.strip() == "x"
    assert c.run("exec", "-T", "--index", "1", "web", "test", "-e", "/tmp/marker").returncode == 1
    r = c.run("exec", "-T", "--index", "3", "web", "true")
    assert r.returncode == 1 and "no container number 3" in r.stderr


def test_stats_no_stream_and_version(compose_factory):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    out = c.run("stats", "--no-stream", check=True).stdout.splitlines()
    assert out[0].split()[:3] == ["CONTAINER", "ID", "NAME"]
    assert sum(1 for line in out if f"{c.project}-" in line) == 2
    rows = [json.loads(x) for x in c.run("stats", "--no-stream", "--format", "json", check=True).stdout.splitlines()]
    assert {r["Name"] for r in rows} == {f"{c.project}-a-1", f"{c.project}-b-1"} and all("MemUsage" in r for r in rows)
    assert c.run("version", check=True).stdout.startswith("pycompose version")


def test_down_remove_orphans_and_kill_signal(compose_factory):
    c = compose_factory("orphans")
    c.run("up", "-d", check=True)
    c.run("kill", "-s", "SIGTERM", "gone", check=True)
    # sleep as PID 1 ignores SIGTERM: still running; SIGKILL ends it
    assert {r["Service"]: r["State"] for r in c.ps("-a")}["gone"] == "running"
    c.run("kill", "gone", check=True)
    assert {r["Service"]: r["State"] for r in c.ps("-a")}["gone"] == "exited"
    r = c.run("down", "-t", "1", env={"COMPOSE_FILE": "compose.small.yaml"}, check=True)
    assert "Found orphan containers" in r.stderr and [x["Service"] for x in c.ps("-a")] == ["gone"]
    c.run("down", "--remove-orphans", "-t", "1", env={"COMPOSE_FILE": "compose.small.yaml"}, check=True)
    assert c.ps("-a") == []


def test_progress_json_and_quiet(compose_factory):
    c = compose_factory("changed")
    r = c.run("--progress", "json", "up", "-d", check=True)
    events = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    assert {"id": f"Container {c.project}-a-1", "text": "Started", "status": "Started"} in events
    r = c.run("--progress", "quiet", "down", "-t", "1", check=True)
    assert r.stderr == ""


def test_attach_streams_new_output_until_the_container_stops(compose_factory):
    import time

    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    p = c.popen("attach", "a")
    time.sleep(1.0)
    c.run("exec", "-T", "a", "sh", "-c", "echo to-pid1-stdout > /proc/1/fd/1", check=True)
    time.sleep(0.5)
    c.run("kill", "a", check=True)
    out, err = p.communicate(timeout=30)
    assert "to-pid1-stdout" in out, err
    assert p.returncode == 137


def test_wait_down_project(compose_factory):
    c = compose_factory("exitcode")
    c.run("up", "-d", check=True)
    r = c.run("wait", "--down-project", "tests", timeout=60)
    assert r.returncode == 3 and r.stdout.split()[0] == "3"
    assert c.ps("-a") == []


def test_attach_relays_stdin_to_a_service_with_stdin_open(compose_factory):
    import subprocess
    import time

    c = compose_factory("stdin")
    c.run("up", "-d", check=True)
    p = subprocess.Popen(c.cmd("attach", "echo"), cwd=c.dir, env=c.env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdin.write("hello\n")
    p.stdin.flush()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logs = c.run("logs", "--no-log-prefix", "echo").stdout
        if "got:hello" in logs:
            break
        time.sleep(0.1)
    assert "got:hello" in logs
    c.run("kill", "echo", check=True)
    out, err = p.communicate(timeout=30)
    assert "got:hello" in out, err
