"""Compose and registries: ``up`` pulls what is missing, ``pull_policy`` / ``--pull``, ``pull``,
``push``, ``run``, ``config --resolve-image-digests``, on a data root that starts with no image."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from cli_helpers import pulled_images, pycompose

pytestmark = pytest.mark.root


def _other_arch() -> str:
    from engine.images.archive import host_arch

    return "arm64" if host_arch() != "arm64" else "amd64"  # the index's second platform (servers.py)


OTHER_ARCH = _other_arch()


@pytest.fixture
def project(tmp_path, engine_root):
    """Factory: write a compose file (its text, or a model written as JSON, which YAML reads), return a
    runner ``p(*args)`` for it; ``down`` at the end."""
    made = []

    def make(text: str | dict):
        d = tmp_path / f"proj{len(made)}"
        d.mkdir()
        (d / "compose.yaml").write_text(text if isinstance(text, str) else json.dumps(text, indent=2))
        name = f"reg{uuid.uuid4().hex[:8]}"

        def run(*args: str, **kw):
            return pycompose("-p", name, *args, cwd=d, **kw)

        made.append(run)
        return run

    yield make
    for run in made:
        run("down", "-v", "-t", "1")


def sleepers(**services: dict) -> dict:
    """A compose model of services that sleep 300 s: service name -> its other keys (image, ...)."""
    return {"services": {name: {**keys, "command": ["sleep", "300"]} for name, keys in services.items()}}


def _running(p) -> list[str]:
    out = p("ps", "--format", "json", check=True).stdout
    return sorted(json.loads(line)["Service"] for line in out.splitlines() if line.strip())


def test_up_pulls_each_missing_image_once_then_runs_the_stack(registry, project):
    h = registry.host
    p = project(sleepers(web={"image": f"{h}/busybox:latest"},
                         worker={"image": f"{h}/oci/busybox:latest", "depends_on": ["web"]},
                         again={"image": f"{h}/busybox:latest"}))
    dry = p("up", "--dry-run", check=True)
    assert f"DRY-RUN MODE - Image {h}/busybox:latest  Pulled" in dry.stdout.splitlines()
    assert pycompose("image", "ls", "-q", check=True).stdout == ""  # a dry run pulls nothing
    r = p("up", "-d", check=True)
    assert sorted(pulled_images(r.stderr)) == [f"{h}/busybox:latest", f"{h}/oci/busybox:latest"], r.stderr
    assert r.stderr.index("Pulled") < r.stderr.index("Created")  # everything pulled before anything is made
    assert _running(p) == ["again", "web", "worker"]
    rows = [line.split() for line in p("images", "--digests", check=True).stdout.splitlines()]
    assert rows[0][:4] == ["CONTAINER", "REPOSITORY", "TAG", "DIGEST"]
    assert [f"{h}/oci/busybox", "latest", registry.images["oci/busybox:latest"]] in [r[1:4] for r in rows[1:]]
    assert pulled_images(p("up", "-d", check=True).stderr) == []
    r = p("up", "-d", "--pull", "always", check=True)
    assert sorted(pulled_images(r.stderr)) == [f"{h}/busybox:latest", f"{h}/oci/busybox:latest"]
    assert "Recreate" not in r.stderr  # same images: nothing to recreate
    assert p("up", "-d", "--pull", "sometimes").stderr.strip() == "error: invalid --pull option 'sometimes'"
    p("down", "-t", "1", check=True)
    assert _running(p) == []


def test_pull_policies_decide_the_pulls(registry, project):
    h = registry.host
    p = project(sleepers(always={"image": f"{h}/busybox:latest", "pull_policy": "always"},
                         daily={"image": f"{h}/oci/busybox:latest", "pull_policy": "daily"},
                         often={"image": f"{h}/zstd/busybox:latest", "pull_policy": "every_1s"}))
    first = pulled_images(p("up", "-d", check=True).stderr)
    assert sorted(first) == [f"{h}/busybox:latest", f"{h}/oci/busybox:latest", f"{h}/zstd/busybox:latest"]
    time.sleep(1.5)  # older than every_1s, far younger than a day
    second = pulled_images(p("up", "-d", check=True).stderr)
    assert sorted(second) == [f"{h}/busybox:latest", f"{h}/zstd/busybox:latest"]
    none = project(f"""
services:
  local:
    image: {h}/multi/busybox:latest
    pull_policy: never
""")
    r = none("up", "-d")
    assert r.returncode == 1 and "pull_policy is never" in r.stderr and pulled_images(r.stderr) == []
    assert _running(none) == []
    dry = none("create", "--dry-run", "--pull", "always", check=True)
    assert f"DRY-RUN MODE - Image {h}/multi/busybox:latest  Pulled" in dry.stdout.splitlines()
    r = none("create", "--pull", "always", check=True)  # --pull overrides the service's policy
    assert pulled_images(r.stderr) == [f"{h}/multi/busybox:latest"]
    created = [json.loads(x) for x in none("ps", "-a", "--format", "json", check=True).stdout.splitlines() if x]
    assert [(c["Service"], c["State"]) for c in created] == [("local", "created")]


def test_pull_and_push_commands(registry, project):
    h = registry.host
    p = project(f"""
services:
  app:
    image: {h}/pushed/app:1
    build:
      context: .
      tags: ["{h}/pushed/app:extra"]
  base:
    image: {h}/busybox:latest
  bad:
    image: {h}/nope/missing:1
    profiles: [broken]
  foreign:
    image: {h}/multi/busybox:latest
    platform: linux/{OTHER_ARCH}
    profiles: [foreign]
""")
    r = p("--profile", "foreign", "pull", "foreign", check=True)  # the service's platform: picks the manifest
    assert pulled_images(r.stderr) == [f"{h}/multi/busybox:latest"]
    inspect = json.loads(pycompose("image", "inspect", f"{h}/multi/busybox:latest", check=True).stdout)[0]
    assert inspect["Architecture"] == OTHER_ARCH
    r = p("pull", "base", check=True)
    assert pulled_images(r.stderr) == [f"{h}/busybox:latest"]
    assert p("pull", "-q", "base", check=True).stderr == ""
    assert p("pull", "--policy", "never").stderr.strip() == "error: invalid --policy option 'never'"
    failed = p("--profile", "broken", "pull", "bad")
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1].startswith(f"Error response from daemon: manifest for {h}/nope/missing:1")
    assert p("--profile", "broken", "pull", "--ignore-pull-failures", "bad").returncode == 0
    for tag in ("1", "extra"):
        pycompose("image", "tag", f"{h}/busybox:latest", f"{h}/pushed/app:{tag}", check=True)
    r = p("push", check=True)
    assert f" {h}/pushed/app:1  Pushed" in r.stderr.splitlines()
    assert f" {h}/pushed/app:extra  Pushed" in r.stderr.splitlines()
    assert " base  Skipped" in r.stderr.splitlines()  # no build: compose does not push it
    assert registry.manifest("pushed/app", "extra")[1] == registry.manifest("pushed/app", "1")[1]


def test_run_pulls_and_config_resolves_digests(registry, project):
    h = registry.host
    p = project(f"""
services:
  job:
    image: {h}/oci/busybox:latest
    platform: linux/{__import__('engine.images.archive', fromlist=['host_arch']).host_arch()}
""")
    r = p("run", "--rm", "-T", "job", "echo", "ran", check=True)
    assert r.stdout == "ran\n" and pulled_images(r.stderr) == [f"{h}/oci/busybox:latest"]
    plain = p("config", check=True).stdout
    resolved = p("config", "--resolve-image-digests", check=True).stdout
    digest = registry.images["oci/busybox:latest"]
    assert resolved == plain.replace(f"image: {h}/oci/busybox:latest", f"image: {h}/oci/busybox:latest@{digest}")
    assert resolved != plain
    locked = p("config", "--lock-image-digests", check=True).stdout  # an override file: images pinned
    assert f"image: {h}/oci/busybox:latest@{digest}" in locked.splitlines()[2]
