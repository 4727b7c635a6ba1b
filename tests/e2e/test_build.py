"""`pycompose build` and `up --build` end to end: real builds FROM busybox on our engine, then real containers."""
from __future__ import annotations

import json
import shutil
import time

import pytest

pytestmark = pytest.mark.root


def logs_of(c, service: str, want: str, timeout: float = 20) -> str:
    """The service's logs once ``want`` shows up in them."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = c.run("logs", "--no-log-prefix", service, check=True).stdout
        if want in out:
            return out
        time.sleep(0.2)
    return out


def build_project(compose_factory, tmp_path=None):
    c = compose_factory("build")
    # Compose pulls a missing `image:` before building it; a registry on loopback that nobody listens on
    # makes that pull fail at once without any traffic leaving the machine (never Docker Hub in tests)
    c.env["TOOL_IMAGE"] = f"127.0.0.1:9/{c.project}-toolimg"
    if tmp_path is not None:  # a copy the test may change
        shutil.copytree(c.dir, tmp_path / "build")
        c.dir = tmp_path / "build"
    return c


def test_build_then_up_runs_the_built_images(compose_factory):
    c = build_project(compose_factory)
    app, tool = f"{c.project}-app", f"127.0.0.1:9/{c.project}-toolimg"
    try:
        r = c.run("build", check=True)
        assert "[4/4] RUN echo" in r.stderr and f"Image {app}  Built" in r.stderr
        assert "COPY --from=base /base /copied" in r.stderr and f"Image {tool}  Built" in r.stderr
        img = c.engine().images.inspect(app)
        labels = img["Config"]["Labels"]
        assert labels["com.docker.compose.project"] == c.project and labels["com.docker.compose.service"] == "app"
        assert labels["com.example.role"] == "app"
        assert "GREETING=hello" in img["Config"]["Env"] and img["Config"]["WorkingDir"] == "/srv"
        assert img["Config"]["Cmd"] == ["sh", "-c", "cat /srv/greeting; ls /srv; sleep 300"]

        again = c.run("build", "app", check=True).stderr
        run_step = again.split("[4/4] RUN")[1].split("\n\n")[0]
        assert "CACHED" in run_step

        c.run("up", "-d", check=True)
        out = logs_of(c, "app", "keep.log")
        assert out.splitlines()[0] == "hello from build"
        files = set(out.splitlines()[1:])
        assert {"Dockerfile", "app.txt", "greeting", "keep.log"} <= files
        assert "junk.log" not in files and "compose.yaml" not in files and "compose.platform.yaml" not in files
        tool_out = logs_of(c, "tool", "base-stage")
        # stage copy, the app service's image as a named context, the secret mounted while building
        assert tool_out.split() == ["base-stage", "hello", "from", "build", "6"]
        assert c.run("exec", "-T", "tool", "ls", "/run/secrets").stdout.strip() == ""
    finally:
        r = c.run("down", "--rmi", "local", "-t", "1")
    assert f"Image {app}:latest  Removed" in r.stderr and f"Image {tool}:latest  Removed" in r.stderr
    assert not c.engine().images.exists(app) and not c.engine().images.exists(tool)


def test_up_builds_what_is_missing_and_up_build_rebuilds(compose_factory, tmp_path):
    c = build_project(compose_factory, tmp_path)
    try:
        r = c.run("up", "-d", "--no-build")
        assert r.returncode != 0 and f"image {c.project}-app not found" in r.stderr
        assert c.ps("--all") == []

        r = c.run("up", "-d", check=True)
        assert f"Image {c.project}-app  Built" in r.stderr
        assert logs_of(c, "app", "hello from build").startswith("hello from build")
        first = c.inspect(f"{c.project}-app-1")["Id"]

        r = c.run("up", "-d", check=True)  # images are there now: nothing is built, nothing changes
        assert "Built" not in r.stderr and c.inspect(f"{c.project}-app-1")["Id"] == first

        (c.dir / "app.txt").write_text("changed\n")
        r = c.run("up", "-d", "--build", check=True)
        assert f"Container {c.project}-app-1  Recreated" in r.stderr
        assert c.inspect(f"{c.project}-app-1")["Id"] != first

        (c.dir / "app.txt").write_text("for run\n")
        r = c.run("run", "--rm", "-T", "--build", "app", "cat", "/srv/app.txt", check=True)
        assert r.stdout == "for run\n" and f"Image {c.project}-app  Built" in r.stderr
    finally:
        c.run("down", "--rmi", "local", "-t", "1")


def test_build_args_print_and_errors(compose_factory, tmp_path):
    c = build_project(compose_factory, tmp_path)
    try:
        bake = json.loads(c.run("build", "--print", "app", check=True).stdout)
        assert bake["group"]["default"]["targets"] == ["app"]
        assert bake["target"]["app"]["args"] == {"GREETING": "hello"}
        assert bake["target"]["app"]["tags"] == [f"{c.project}-app"]

        r = c.run("build", "-q", "--build-arg", "GREETING=bye", "app", check=True)
        assert (r.stdout, r.stderr) == ("", "")
        env = c.engine().images.inspect(f"{c.project}-app")["Config"]["Env"]
        assert "GREETING=bye" in env

        r = c.run("-f", "compose.platform.yaml", "build")
        assert r.returncode == 1
        assert "cannot build for platform linux/s390x" in r.stderr and "Traceback" not in r.stderr

        (c.dir / "Dockerfile").write_text("FROM busybox\nRUN echo failing && exit 3\n")
        r = c.run("build", "app")
        assert r.returncode != 0
        assert "exit code: 3" in r.stderr and "app" in r.stderr

        (c.dir / "Dockerfile").write_text("FROM busybox\nCOPY onlyone\n")
        r = c.run("build", "app")
        assert r.returncode == 1 and "Dockerfile:2" in r.stderr and "COPY requires at least two arguments" in r.stderr
    finally:
        c.run("down", "--rmi", "local", "-t", "1")
