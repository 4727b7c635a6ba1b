"""Push to a real docker-registry and pull back, as ``docker push`` / ``docker pull`` do."""
from __future__ import annotations

import json
import uuid

import pytest

from engine.api import Engine
from engine.errors import InvalidArgument, NotFound
from engine.registry import upload

pytestmark = pytest.mark.root


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def loaded(engine, busybox_archive):
    """The engine with the busybox test image loaded (plain layers, as ``docker load`` gives)."""
    engine.images.load(busybox_archive)
    return engine


def test_push_then_pull_back_by_digest(registry, loaded, tmp_path):
    repo = f"{registry.host}/{unique('push/')}"
    loaded.images.tag("busybox:latest", f"{repo}:v1")
    events: list[dict] = []
    out = loaded.images.push(f"{repo}:v1", progress=events.append)
    assert len(out) == 1 and out[0]["tag"] == "v1"
    digest = out[0]["digest"]
    st = [e["status"] for e in events]
    assert st[0] == f"The push refers to repository [{repo}]"
    assert "Preparing" in st and "Pushing" in st and "Pushed" in st
    assert st[-1] == f"v1: digest: {digest} size: {out[0]['size']}"
    ctype, raw = registry.manifest(repo.split("/", 1)[1], "v1")
    assert ctype == "application/vnd.docker.distribution.manifest.v2+json"
    man = json.loads(raw)
    assert "sha256:" + __import__("hashlib").sha256(raw).hexdigest() == digest and len(raw) == out[0]["size"]
    assert man["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert man["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert loaded.images.inspect(f"{repo}:v1")["RepoDigests"] == [f"{repo}@{digest}"]

    other = Engine(str(tmp_path / "root2"))
    got = other.images.pull(f"{repo}@{digest}")
    assert got["id"] == loaded.images.inspect("busybox:latest")["Id"]
    # the same digest again: the gzip copy is kept, so a second push repeats it
    events.clear()
    again = loaded.images.push(f"{repo}:v1", progress=events.append)
    assert again[0]["digest"] == digest
    assert "Layer already exists" in [e["status"] for e in events] and "Pushed" not in [e["status"] for e in events]


def test_push_mounts_from_another_repository(registry, engine):
    engine.images.pull(f"{registry.host}/busybox:latest")
    repo = f"{registry.host}/{unique('mounted/')}"
    engine.images.tag(f"{registry.host}/busybox:latest", f"{repo}:latest")
    events: list[dict] = []
    out = engine.images.push(repo, progress=events.append)
    assert out[0]["tag"] == "latest"
    assert "Mounted from busybox" in [e["status"] for e in events]
    # a pulled image goes back with the manifest it came with: same digest
    assert out[0]["digest"] == registry.images["busybox:latest"]


def test_chunked_upload(registry, loaded, tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "MONOLITHIC_MAX", 100_000)
    monkeypatch.setattr(upload, "CHUNK", 256 * 1024)
    repo = f"{registry.host}/{unique('chunked/')}"
    loaded.images.tag("busybox:latest", f"{repo}:c")
    digest = loaded.images.push(f"{repo}:c")[0]["digest"]
    got = Engine(str(tmp_path / "root2")).images.pull(f"{repo}@{digest}")
    assert got["id"] == loaded.images.inspect("busybox:latest")["Id"]


def test_failed_chunk_is_sent_again(registry, loaded, tmp_path, monkeypatch, flaky_front):
    """A chunk the registry answers with 503 (or that is cut) goes again from where the upload stands."""
    monkeypatch.setattr(upload, "MONOLITHIC_MAX", 100_000)
    monkeypatch.setattr(upload, "CHUNK", 256 * 1024)
    front = flaky_front(registry.port, [("PATCH /v2/", 503, {"Retry-After": "0"}, 1, b"", 1),   # the 2nd chunk
                                        ("PATCH /v2/", 502, {}, 1, b"", 2)])                     # then the 4th
    repo = f"{front.host}/{unique('chunkretry/')}"
    loaded.images.tag("busybox:latest", f"{repo}:c")
    digest = loaded.images.push(f"{repo}:c")[0]["digest"]
    patches = [s for m, p, s in front.seen if m == "PATCH"]
    assert patches.count(503) == 1 and patches.count(502) == 1 and patches.count(202) >= 4
    assert [m for m, p, s in front.seen if m == "GET" and "/blobs/uploads/" in p and s == 204] != []
    got = Engine(str(tmp_path / "root2")).images.pull(f"{registry.host}/{repo.split('/', 1)[1]}@{digest}")
    assert got["id"] == loaded.images.inspect("busybox:latest")["Id"]


def test_push_all_tags(registry, loaded):
    repo = f"{registry.host}/{unique('alltags/')}"
    for t in ("a", "b"):
        loaded.images.tag("busybox:latest", f"{repo}:{t}")
    out = loaded.images.push(repo, all_tags=True)
    assert [o["tag"] for o in out] == ["a", "b"]
    assert out[0]["digest"] == out[1]["digest"]
    with pytest.raises(InvalidArgument):
        loaded.images.push(f"{repo}:a", all_tags=True)


def test_push_missing_image(registry, engine):
    with pytest.raises(NotFound) as e:
        engine.images.push(f"{registry.host}/nothing:here")
    assert str(e.value) == f"An image does not exist locally with the tag: {registry.host}/nothing:here"


def test_catalog_search(registry, engine):
    found = engine.images.search(f"{registry.host}/busy")
    names = [r["name"] for r in found]
    assert f"{registry.host}/busybox" in names and f"{registry.host}/multi/busybox" in names
    assert all("busy" in n for n in names)
    assert found[0].keys() == {"name", "description", "star_count", "is_official", "is_automated"}
    assert engine.images.search(f"{registry.host}/busy", filters={"is-official": ["true"]}) == []
    with pytest.raises(InvalidArgument):
        engine.images.search(f"{registry.host}/busy", filters={"nope": ["1"]})


def test_hub_search_api(engine, flaky_front, monkeypatch):
    """docker.io terms go to Docker Hub's search API; Hub is out of reach here, so a local
    server answers in its format (the one stand-in of these tests)."""
    from engine.registry import search as search_mod

    body = json.dumps({"num_results": 3, "query": "busy", "results": [
        {"name": "busybox", "description": "Busybox base image.", "star_count": 3000, "is_official": True,
         "is_automated": False},
        {"name": "someone/busybox-tools", "description": "", "star_count": 12, "is_official": False,
         "is_automated": True},
        {"name": "other/busy", "description": "x", "star_count": 0, "is_official": False, "is_automated": False},
    ]}).encode()
    front = flaky_front(1, [("/v1/search", 200, {"Content-Type": "application/json"}, 10, body)])
    monkeypatch.setattr(search_mod, "HUB_SEARCH", f"http://{front.host}/v1/search")
    got = engine.images.search("busy", limit=2)
    assert [r["name"] for r in got] == ["busybox", "someone/busybox-tools"]
    assert "q=busy" in front.seen[0][1] and "n=2" in front.seen[0][1]
    assert [r["name"] for r in engine.images.search("busy", filters={"stars": ["10"], "is-automated": ["true"]})] \
        == ["someone/busybox-tools"]
    assert [r["name"] for r in engine.images.search("busy", filters={"is-official": ["true"]})] == ["busybox"]
    with pytest.raises(InvalidArgument):
        engine.images.search("busy", limit=101)
