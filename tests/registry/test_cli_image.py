"""``pycompose image pull|push``, ``images --digests``, ``login``/``logout``, ``run --pull``:
what a docker user sees, against the real docker-registry of the fixtures."""
from __future__ import annotations

import base64
import json
import re

import pytest

from cli_helpers import pycompose

pytestmark = pytest.mark.root

LAYER_LINE = re.compile(r"^[0-9a-f]{12}: (Pulling fs layer|Waiting|Verifying Checksum|Download complete|"
                        r"Pull complete|Already exists)$")


def test_image_pull_prints_docker_lines_then_the_reference(registry, engine_root):
    ref = f"{registry.host}/busybox:latest"
    r = pycompose("image", "pull", ref, check=True)
    lines = r.stdout.splitlines()
    assert lines[0] == "latest: Pulling from busybox"
    layers = [ln for ln in lines[1:-3]]
    assert layers and all(LAYER_LINE.match(ln) for ln in layers), lines
    assert any(ln.endswith(": Pull complete") for ln in layers)
    assert lines[-3:] == [f"Digest: {registry.images['busybox:latest']}",
                          f"Status: Downloaded newer image for {ref}", ref]
    again = pycompose("image", "pull", ref, check=True).stdout.splitlines()
    assert again[-2:] == [f"Status: Image is up to date for {ref}", ref]
    quiet = pycompose("image", "pull", "-q", f"{registry.host}/busybox", check=True)
    assert quiet.stdout == f"{ref}\n"


def test_image_pull_without_tag_says_so_and_digest_rows(registry, engine_root):
    r = pycompose("image", "pull", f"{registry.host}/oci/busybox", check=True)
    assert r.stdout.splitlines()[0] == "Using default tag: latest"
    digest = registry.images["oci/busybox:latest"]
    ls = pycompose("image", "ls", "--digests", check=True).stdout.splitlines()
    assert re.split(r"\s{2,}", ls[0]) == ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    row = re.split(r"\s{2,}", ls[1])
    assert row[:3] == [f"{registry.host}/oci/busybox", "latest", digest]
    inspect = json.loads(pycompose("image", "inspect", f"{registry.host}/oci/busybox", check=True).stdout)
    assert inspect[0]["RepoDigests"] == [f"{registry.host}/oci/busybox@{digest}"]
    assert pycompose("image", "ls", "--format", "{{.Digest}}", check=True).stdout == f"{digest}\n"


def test_unknown_image_is_one_line_in_dockers_words(registry, engine_root):
    r = pycompose("image", "pull", f"{registry.host}/nope/missing:1")
    assert r.returncode == 1
    # what docker says when distribution answers MANIFEST_UNKNOWN for an unknown repository
    assert r.stderr == (f"Error response from daemon: manifest for {registry.host}/nope/missing:1 not found: "
                        "manifest unknown: manifest unknown\n")


def test_push_then_pull_back_by_digest_gives_the_same_image(registry, engine_root):
    src = f"{registry.host}/busybox:latest"
    pycompose("image", "pull", "-q", src, check=True)
    dst = f"{registry.host}/pushed/cli:v1"
    pycompose("image", "tag", src, dst, check=True)
    r = pycompose("image", "push", dst, check=True)
    lines = r.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{registry.host}/pushed/cli]"
    m = re.fullmatch(r"v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)", lines[-1])
    assert m, lines
    assert all(re.fullmatch(r"[0-9a-f]{12}: (Preparing|Waiting|Pushed|Layer already exists|Mounted from \S+)", ln)
               for ln in lines[1:-1]), lines
    image_id = json.loads(pycompose("image", "inspect", dst, check=True).stdout)[0]["Id"]
    pycompose("image", "rm", dst, src, check=True)
    by_digest = f"{registry.host}/pushed/cli@{m.group(1)}"
    r = pycompose("image", "pull", by_digest, check=True)
    assert r.stdout.splitlines()[-1] == by_digest
    assert json.loads(pycompose("image", "inspect", by_digest, check=True).stdout)[0]["Id"] == image_id
    assert pycompose("image", "push", "-q", dst.replace(":v1", ":v2")).returncode == 1  # no such local tag
    pycompose("image", "tag", by_digest, dst.replace(":v1", ":v2"), check=True)
    assert pycompose("image", "push", "-q", dst.replace(":v1", ":v2"), check=True).stdout == \
        dst.replace(":v1", ":v2") + "\n"


def test_login_logout_round_trip_writes_dockers_config(make_registry, engine_root, docker_config_dir):
    reg = make_registry(auth="htpasswd")
    ref = f"{reg.host}/busybox:latest"
    denied = pycompose("image", "pull", ref)
    assert denied.returncode == 1 and denied.stderr.startswith("Error response from daemon: ")
    bad = pycompose("login", "-u", "alice", "--password-stdin", reg.host, input="wrong\n")
    assert bad.returncode == 1 and bad.stderr.startswith("Error response from daemon: ")
    assert not (docker_config_dir / "config.json").exists() or \
        reg.host not in json.loads((docker_config_dir / "config.json").read_text()).get("auths", {})
    ok = pycompose("login", "-u", "alice", "--password-stdin", reg.host, input="s3cret\n", check=True)
    assert ok.stdout.splitlines()[-1] == "Login Succeeded"
    cfg = json.loads((docker_config_dir / "config.json").read_text())
    assert base64.b64decode(cfg["auths"][reg.host]["auth"]).decode() == "alice:s3cret"
    pycompose("image", "pull", "-q", ref, check=True)
    again = pycompose("login", reg.host, input="", check=True)  # no terminal: the stored credentials
    assert again.stdout.splitlines() == ["Authenticating with existing credentials...", "Login Succeeded"]
    out = pycompose("logout", reg.host, check=True)
    assert out.stdout == f"Removing login credentials for {reg.host}\n"
    assert reg.host not in json.loads((docker_config_dir / "config.json").read_text()).get("auths", {})
    assert pycompose("logout", reg.host, check=True).stdout == f"Not logged in to {reg.host}\n"
    assert pycompose("login", reg.host, input="").stderr.strip() == \
        "Error: Cannot perform an interactive login from a non TTY device"
    assert pycompose("login", "--password-stdin", reg.host, input="x\n").stderr.strip() == \
        "error: Must provide --username with --password-stdin"


def test_container_run_pulls_a_missing_image_like_docker_run(registry, engine_root):
    ref = f"{registry.host}/zstd/busybox:latest"
    r = pycompose("container", "run", "--rm", ref, "echo", "hello from the registry", check=True)
    assert r.stdout == "hello from the registry\n"
    err = r.stderr.splitlines()
    assert err[0] == f"Unable to find image '{ref}' locally"
    assert f"Status: Downloaded newer image for {ref}" in err
    again = pycompose("container", "run", "--rm", ref, "true", check=True)
    assert "Unable to find image" not in again.stderr
    never = pycompose("container", "run", "--rm", "--pull", "never", f"{registry.host}/oci/busybox:latest", "true")
    assert never.returncode != 0 and "Unable to find image" not in never.stderr
    always = pycompose("container", "create", "--pull", "always", "-q", ref, check=True)
    assert re.fullmatch(r"[0-9a-f]{64}\n", always.stdout) and always.stderr == ""
    pycompose("container", "rm", always.stdout.strip(), check=True)
    bad = pycompose("container", "run", "--pull", "sometimes", ref)
    assert bad.returncode == 1 and "invalid pull option: 'sometimes'" in bad.stderr


def test_multi_platform_pull_with_platform_flag(registry, engine_root):
    from engine.images.archive import host_arch

    ref = f"{registry.host}/multi/busybox:latest"
    r = pycompose("image", "pull", "--platform", f"linux/{host_arch()}", ref, check=True)
    assert r.stdout.splitlines()[-3] == f"Digest: {registry.platforms['index']}"
    r = pycompose("image", "pull", "--platform", "linux/s390x", ref)
    assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: ") and "linux/" in r.stderr


def test_search_lists_the_registry_catalog_like_docker_search(registry, engine_root):
    r = pycompose("image", "search", f"{registry.host}/busy", check=True)
    lines = r.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    names = sorted(ln.split()[0] for ln in lines[1:])
    assert f"{registry.host}/busybox" in names and f"{registry.host}/oci/busybox" in names
    r = pycompose("image", "search", "--format", "{{.Name}}", "--limit", "1", f"{registry.host}/oci", check=True)
    assert r.stdout == f"{registry.host}/oci/busybox\n"
    bad = pycompose("image", "search", "--filter", "colour=blue", f"{registry.host}/busy")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: invalid filter 'colour'"


def test_unreachable_registry_and_bad_reference_are_one_line_errors(engine_root):
    from servers import free_port

    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    r = pycompose("image", "pull", "-q", f"{host}/x:1")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("Error response from daemon: Get ") and "connection refused" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    r = pycompose("image", "pull", "Bad/Ref")
    assert r.returncode == 1 and r.stderr == "error: invalid reference format: repository name (Bad/Ref) must be lowercase\n"
