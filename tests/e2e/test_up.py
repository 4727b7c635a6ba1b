"""`pycompose up` end to end: real containers, health-gated order, --wait, exit codes, convergence."""
from __future__ import annotations

import urllib.request

import pytest

pytestmark = pytest.mark.root


def labels_of(c, name):
    return c.inspect(name)["Config"]["Labels"]


def by_service(rows):
    return {r["Service"]: r for r in rows}


def test_up_detached_wait_runs_healthy_web_with_compose_labels(compose_factory):
    c = compose_factory("basic")
    r = c.run("up", "-d", "--wait", check=True)
    assert f"Container {c.project}-web-1" in r.stderr
    rows = by_service(c.ps())
    assert set(rows) == {"web", "tool"} and all(r["State"] == "running" for r in rows.values())
    assert rows["web"]["Health"] == "healthy"
    lb = labels_of(c, f"{c.project}-web-1")
    assert lb["com.docker.compose.project"] == c.project and lb["com.docker.compose.service"] == "web"
    assert lb["com.docker.compose.container-number"] == "1" and lb["com.docker.compose.oneoff"] == "False"
    assert lb["com.docker.compose.image"].startswith("sha256:") and len(lb["com.docker.compose.config-hash"]) == 64
    assert lb["com.docker.compose.project.working_dir"] == str(c.dir)
    assert lb["com.docker.compose.project.config_files"] == str(c.dir / "compose.yaml")
    assert labels_of(c, f"{c.project}-tool-1")["com.docker.compose.depends_on"] == "web:service_healthy:false"
    page = urllib.request.urlopen("http://127.0.0.1:18080/", timeout=10).read().decode()
    assert "hello from pycompose" in page


def _ns(text: str) -> int:
    """RFC 3339 (nanoseconds, zeros maybe trimmed) -> ns since the epoch."""
    from compose.cli.logs import _key

    return _key(("stdout", text, b""))


def _healthy_at(info) -> int:
    log = info["State"]["Health"]["Log"]
    return _ns(next(e["End"] for e in log if e["ExitCode"] == 0))


def test_dependent_starts_only_after_its_dependency_is_healthy(compose_factory):
    c = compose_factory("healthy")
    c.run("up", "-d", check=True)
    db = c.inspect(f"{c.project}-db-1")
    app = c.inspect(f"{c.project}-app-1")
    free = c.inspect(f"{c.project}-free-1")
    healthy = _healthy_at(db)
    assert _ns(app["State"]["StartedAt"]) >= healthy
    # a service with no dependencies does not wait for anybody's health
    assert _ns(free["State"]["StartedAt"]) < healthy


def test_wait_fails_on_unhealthy_and_dependents_are_not_started(compose_factory):
    c = compose_factory("unhealthy")
    r = c.run("up", "-d", "--wait")
    assert r.returncode == 1
    assert f"{c.project}-sick-1 is unhealthy" in r.stderr
    assert "dependency failed to start" in r.stderr
    assert c.inspect(f"{c.project}-after-1")["State"]["Status"] == "created"


def test_wait_timeout_fails_with_message(compose_factory):
    c = compose_factory("slowhealth")
    r = c.run("up", "-d", "--wait", "--wait-timeout", "2")
    assert r.returncode == 1
    assert "timeout waiting for services to be running/healthy after 2s: slow" in r.stderr


def test_exit_code_from_returns_the_service_code_and_stops_the_rest(compose_factory):
    c = compose_factory("exitcode")
    r = c.run("up", "--exit-code-from", "tests", "--no-color")
    assert r.returncode == 3, r.stderr
    name = f"{c.project}-tests-1"
    # prefixes are padded to the longest attached container name (server-1 is one longer)
    assert f"{name}   | tests failed" in r.stdout
    assert f"{name} exited with code 3" in r.stdout
    assert "Aborting on container exit..." in r.stdout
    assert c.inspect(f"{c.project}-server-1")["State"]["Running"] is False


def test_abort_on_container_exit_stops_everything_with_code_zero(compose_factory):
    c = compose_factory("exitcode")
    r = c.run("up", "--abort-on-container-exit", "--no-color", "--no-log-prefix")
    assert r.returncode == 0
    assert "running tests" in r.stdout.splitlines()  # no prefix
    assert c.inspect(f"{c.project}-server-1")["State"]["Running"] is False


def test_one_shot_job_gates_the_app_and_wait_accepts_its_exit_zero(compose_factory):
    c = compose_factory("oneshot")
    c.run("up", "-d", "--wait", check=True)
    assert c.inspect(f"{c.project}-migrate-1")["State"]["ExitCode"] == 0
    logs = c.run("logs", "app", "--no-color", check=True).stdout
    assert "done" in logs


def test_second_up_changes_nothing(compose_factory):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    before = {s: (c.inspect(f"{c.project}-{s}-1")["Id"], c.inspect(f"{c.project}-{s}-1")["State"]["StartedAt"])
              for s in ("a", "b")}
    r = c.run("up", "-d", check=True)
    after = {s: (c.inspect(f"{c.project}-{s}-1")["Id"], c.inspect(f"{c.project}-{s}-1")["State"]["StartedAt"])
             for s in ("a", "b")}
    assert before == after
    assert "Running" in r.stderr and "Created" not in r.stderr


def test_changed_service_is_recreated_alone(compose_factory):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    a1, b1 = (c.inspect(f"{c.project}-{s}-1")["Id"] for s in ("a", "b"))
    plan = c.run("up", "-d", "--dry-run", env={"COLOUR": "blue"}, check=True).stdout
    assert "recreate (configuration changed)" in plan and c.inspect(f"{c.project}-a-1")["Id"] == a1
    c.run("up", "-d", env={"COLOUR": "blue"}, check=True)
    a2, b2 = (c.inspect(f"{c.project}-{s}-1")["Id"] for s in ("a", "b"))
    assert a2 != a1 and b2 == b1
    assert "COLOUR=blue" in c.inspect(f"{c.project}-a-1")["Config"]["Env"]


def test_force_recreate_and_no_recreate(compose_factory):
    c = compose_factory("changed")
    c.run("up", "-d", check=True)
    b1 = c.inspect(f"{c.project}-b-1")["Id"]
    c.run("up", "-d", "--force-recreate", "b", check=True)
    b2 = c.inspect(f"{c.project}-b-1")["Id"]
    assert b2 != b1
    a1 = c.inspect(f"{c.project}-a-1")["Id"]
    c.run("up", "-d", "--no-recreate", env={"COLOUR": "green"}, check=True)
    assert c.inspect(f"{c.project}-a-1")["Id"] == a1


def test_orphans_are_reported_then_removed(compose_factory):
    c = compose_factory("orphans")
    c.run("up", "-d", check=True)
    r = c.run("up", "-d", check=True, env={"COMPOSE_FILE": "compose.small.yaml"})
    assert f"Found orphan containers ([{c.project}-gone-1])" in r.stderr
    assert c.inspect(f"{c.project}-gone-1")["State"]["Running"]
    c.run("up", "-d", "--remove-orphans", check=True, env={"COMPOSE_FILE": "compose.small.yaml"})
    assert [r["Service"] for r in c.ps("-a")] == ["keep"]


def test_no_start_creates_only_then_start(compose_factory):
    c = compose_factory("changed")
    c.run("up", "--no-start", check=True)
    assert {r["State"] for r in c.ps("-a")} == {"created"}
    c.run("start", check=True)
    assert {r["State"] for r in c.ps()} == {"running"}


def test_dry_run_touches_nothing(compose_factory):
    c = compose_factory("basic")
    r = c.run("--dry-run", "up", "-d", check=True)
    assert "DRY-RUN MODE" in r.stdout and "create" in r.stdout
    assert c.ps("-a") == []


def test_scale_up_and_down(compose_factory):
    c = compose_factory("scale")
    c.run("up", "-d", "--scale", "web=3", check=True)
    assert sorted(r["Name"] for r in c.ps()) == [f"{c.project}-web-{i}" for i in (1, 2, 3)]
    c.run("scale", "web=1", check=True)
    assert [r["Name"] for r in c.ps("-a")] == [f"{c.project}-web-1"]


def test_no_deps_starts_only_the_named_service(compose_factory):
    c = compose_factory("healthy")
    c.run("up", "-d", "--no-deps", "app", check=True)
    assert [r["Service"] for r in c.ps("-a")] == ["app"]


def test_unknown_service_and_bad_flags_are_one_line_errors(compose_factory):
    c = compose_factory("changed")
    r = c.run("up", "-d", "nope")
    assert r.returncode == 1 and r.stderr.strip() == "no such service: nope"
    r = c.run("up", "-d", "--scale", "a=x")
    assert r.returncode == 1 and "invalid --scale" in r.stderr
    r = c.run("up", "-d", "--abort-on-container-exit")
    assert r.returncode == 1 and "cannot be combined" in r.stderr


def test_attached_up_ctrl_c_stops_gracefully(compose_factory):
    import signal
    import time

    c = compose_factory("changed")
    p = c.popen("up", "--no-color")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([r for r in c.ps() if r["State"] == "running"]) < 2:
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert out.startswith(f"Attaching to {c.project}-a-1, {c.project}-b-1")
    assert "Gracefully stopping... (press Ctrl+C again to force)" in err
    assert {r["State"] for r in c.ps("-a")} == {"exited"}
