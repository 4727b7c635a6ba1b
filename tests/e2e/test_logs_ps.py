"""logs (incl. -f across restarts), ps flags and formats, and the read-only views."""
from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.root


def test_logs_follow_keeps_following_a_container_that_restarted_twice(compose_factory):
    c = compose_factory("restarts")
    c.run("up", "-d", check=True)
    follower = c.popen("logs", "-f", "--no-color")
    name = f"{c.project}-flaky-1"
    eng = c.engine()
    # on-failure:2 -> three runs; wait (by the engine's own wait) until the last run is over
    for _ in range(3):
        eng.containers.wait(name)
        info = eng.containers.inspect(name)
        if info["RestartCount"] >= 2 and not info["State"]["Restarting"] and not info["State"]["Running"]:
            break
    assert eng.containers.inspect(name)["RestartCount"] == 2
    c.run("down", "-t", "1", check=True)
    out, err = follower.communicate(timeout=30)   # ends by itself once the project is gone
    assert follower.returncode == 0, err
    assert out.count(f"{name}  | boot") == 3, out


def test_logs_tail_timestamps_no_prefix_and_index(compose_factory):
    c = compose_factory("scale")
    c.run("up", "-d", "--scale", "web=2", check=True)
    out = ""
    deadline = time.monotonic() + 20
    while out.count("hello from") < 2 and time.monotonic() < deadline:  # both have written their line
        out = c.run("logs", "--no-color", check=True).stdout
    assert f"{c.project}-web-1  | hello from" in out and f"{c.project}-web-2  | hello from" in out
    only2 = c.run("logs", "--no-color", "--index", "2", check=True).stdout
    assert f"{c.project}-web-1" not in only2 and f"{c.project}-web-2" in only2
    bare = c.run("logs", "--no-log-prefix", "-t", "web", check=True).stdout.splitlines()
    assert all(line[:4].isdigit() and "hello from" in line for line in bare), bare
    assert c.run("logs", "--tail", "0", check=True).stdout == ""
    assert "hello from" in c.run("logs", "--since", "1h", "--no-color", check=True).stdout
    assert c.run("logs", "--until", "2000-01-01T00:00:00Z", check=True).stdout == ""


def test_ps_table_json_quiet_services_status(compose_factory):
    c = compose_factory("exitcode")
    c.run("up", "-d", "server", check=True)
    table = c.run("ps", check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert table[1].startswith(f"{c.project}-server-1 ")
    row = json.loads(c.run("ps", "--format", "json", check=True).stdout.splitlines()[0])
    assert row["Service"] == "server" and row["State"] == "running" and row["Project"] == c.project
    ids = c.run("ps", "-q", check=True).stdout.split()
    assert ids == [c.inspect(f"{c.project}-server-1")["Id"]]
    assert c.run("ps", "--services", check=True).stdout.split() == ["server"]
    assert c.run("ps", "--filter", "status=running", "-q", check=True).stdout.split() == ids
    c.run("stop", "-t", "1", check=True)
    assert c.run("ps", "--status", "exited", "--services", check=True).stdout.split() == ["server"]
    assert c.run("ps", check=True).stdout.splitlines()[1:] == []
    bad = c.run("ps", "--status", "sleeping")
    assert bad.returncode == 1 and "invalid status" in bad.stderr


def test_ls_images_volumes_top_port(compose_factory):
    c = compose_factory("basic")
    c.run("up", "-d", "--wait", check=True)
    ls = c.run("ls", check=True).stdout
    assert any(line.startswith(c.project) and "running(2)" in line for line in ls.splitlines())
    images = c.run("images", check=True).stdout.splitlines()
    assert images[0].split()[:3] == ["CONTAINER", "REPOSITORY", "TAG"]
    assert any(line.startswith(f"{c.project}-web-1") and "busybox" in line for line in images)
    assert c.run("volumes", "-q", check=True).stdout.split() == [f"{c.project}_data"]
    top = c.run("top", "web", check=True).stdout
    assert f"{c.project}-web-1" in top and "httpd" in top
    assert c.run("port", "web", "80", check=True).stdout.strip() == "127.0.0.1:18080"


def test_events_json_streams_container_events(compose_factory):
    c = compose_factory("changed")
    ev = c.popen("events", "--json")
    time.sleep(0.5)
    c.run("up", "-d", "a", check=True)
    deadline = time.monotonic() + 20
    seen = []
    while time.monotonic() < deadline:
        line = ev.stdout.readline()
        if not line:
            break
        obj = json.loads(line)
        seen.append((obj["service"], obj["action"]))
        if ("a", "start") in seen:
            break
    ev.kill()
    ev.wait()
    assert ("a", "start") in seen, seen


def test_logs_follow_picks_up_containers_created_later(compose_factory):
    c = compose_factory("scale")
    c.run("up", "-d", check=True)
    follower = c.popen("logs", "-f", "--no-color")
    time.sleep(1.0)
    c.run("up", "-d", "--scale", "web=2", check=True)
    second = f"{c.project}-web-2"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and c.run("logs", "web", "--index", "2").stdout.count("hello from") < 1:
        time.sleep(0.2)
    c.run("down", "-t", "1", check=True)
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert f"{second}  | hello from" in out, out
