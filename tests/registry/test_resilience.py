"""Registries that fail for a while: 429 and 5xx are retried (Retry-After honoured), a
registry that keeps failing is reported, and docker.io pulls go to a configured mirror."""
from __future__ import annotations

import json

import pytest

from engine.errors import RegistryError
from engine.registry import retry, session as session_mod

pytestmark = pytest.mark.root


def test_429_and_503_are_retried(registry, engine, flaky_front):
    digest = registry.images["busybox:latest"]
    layer = json.loads(registry.manifest("busybox", "latest")[1])["layers"][0]["digest"]
    front = flaky_front(registry.port, [
        ("/manifests/latest", 503, {"Retry-After": "0"}, 1),
        (f"/blobs/{layer}", 429, {"Retry-After": "1"}, 2),
    ])
    res = engine.images.pull(f"{front.host}/busybox:latest")
    assert res["digest"] == digest
    statuses = [(m, s) for m, p, s in front.seen if layer in p]
    assert statuses == [("GET", 429), ("GET", 429), ("GET", 200)]
    assert [s for m, p, s in front.seen if p.endswith("/manifests/latest")] == [503, 200]


def test_registry_that_keeps_failing(registry, engine, flaky_front, monkeypatch):
    monkeypatch.setattr(session_mod, "RetryPolicy", lambda: retry.RetryPolicy(attempts=3, base=0.01))
    front = flaky_front(registry.port, [("/manifests/", 502, {}, 100)])
    with pytest.raises(RegistryError) as e:
        engine.images.pull(f"{front.host}/busybox:latest")
    assert "502" in str(e.value)
    assert len([1 for m, p, s in front.seen if "/manifests/" in p]) == 3
    assert not engine.images.exists(f"{front.host}/busybox:latest")


def test_docker_io_goes_to_the_mirror(registry, engine, tmp_path, monkeypatch, busybox_archive):
    """``busybox`` (docker.io/library/busybox) comes from the mirror in pycompose's config file."""
    registry.skopeo_copy(f"docker-archive:{busybox_archive}", "library/busybox:mirrored", "--format", "v2s2")
    conf = tmp_path / "pycompose.json"
    conf.write_text(json.dumps({"registry-mirrors": [f"http://{registry.host}"]}))
    monkeypatch.setenv("PYCOMPOSE_CONFIG", str(conf))
    res = engine.images.pull("busybox:mirrored")
    assert res["ref"] == "docker.io/library/busybox:mirrored"
    assert res["status"] == "Downloaded newer image for busybox:mirrored"
    info = engine.images.inspect("busybox:mirrored")
    assert info["RepoTags"] == ["busybox:mirrored"]
    assert info["RepoDigests"] == [f"busybox@{res['digest']}"]


def test_schema1_refused_clearly(registry, engine, flaky_front):
    body = json.dumps({"schemaVersion": 1, "name": "old", "tag": "v1", "fsLayers": [], "history": []}).encode()
    front = flaky_front(registry.port, [("/manifests/v1", 200, {
        "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"}, 5, body)])
    with pytest.raises(RegistryError) as e:
        engine.images.pull(f"{front.host}/old:v1")
    assert "manifest version 2, schema 1 support has been removed" in str(e.value)
    assert f"{front.host}/old:v1" in str(e.value)


def test_manifest_not_matching_its_digest(registry, engine, flaky_front):
    from engine.errors import DigestMismatch

    digest = registry.images["busybox:latest"]
    ctype, raw = registry.manifest("busybox", "latest")
    tampered = raw + b"\n"       # the same JSON, other bytes: another digest
    assert tampered != raw
    front = flaky_front(registry.port, [(f"/manifests/{digest}", 200, {"Content-Type": ctype}, 5, tampered)])
    with pytest.raises(DigestMismatch) as e:
        engine.images.pull(f"{front.host}/busybox@{digest}")
    assert str(e.value) == f"manifest verification failed for digest {digest}"
    assert engine.images.list() == []
