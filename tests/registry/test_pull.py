"""Pull from a real docker-registry into a fresh data root, as ``docker pull`` does."""
from __future__ import annotations

import json
import os

import pytest

from engine.errors import DigestMismatch, ImageNotFoundRemote, NoMatchingPlatform, RegistryUnreachable
from engine.images.archive import host_arch

pytestmark = pytest.mark.root

BUSYBOX_ID_FILE = "/tmp/pycompose-busybox.tar.stamp"


def busybox_id() -> str:
    with open(BUSYBOX_ID_FILE) as f:
        return json.load(f)["id"]


def statuses(events: list[dict]) -> list[str]:
    return [e["status"] for e in events]


def store_files(root) -> dict[str, list[str]]:
    """What the data root holds: blobs, records and unpacked layers (temp files included)."""
    out = {}
    for sub in ("images/blobs/sha256", "images/records", "layers"):
        d = root / sub
        out[sub] = sorted(os.listdir(d)) if d.is_dir() else []
    return out


def test_pull_by_tag_schema2(registry, engine):
    events: list[dict] = []
    res = engine.images.pull(f"{registry.host}/busybox:latest", progress=events.append)
    assert res["id"] == busybox_id()
    assert res["digest"] == registry.images["busybox:latest"]
    assert res["status"] == f"Downloaded newer image for {registry.host}/busybox:latest"
    st = statuses(events)
    assert st[0] == "Pulling from busybox" and events[0]["id"] == "latest"
    for s in ("Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete", "Extracting",
              "Pull complete"):
        assert s in st
    assert st[-2:] == [f"Digest: {res['digest']}", f"Status: Downloaded newer image for {registry.host}/busybox:latest"]
    info = engine.images.inspect(f"{registry.host}/busybox:latest")
    assert info["RepoTags"] == [f"{registry.host}/busybox:latest"]
    assert info["RepoDigests"] == [f"{registry.host}/busybox@{res['digest']}"]
    assert info["Config"]["Cmd"] == ["sh"]
    rec = engine.images.get(f"{registry.host}/busybox:latest")
    assert (rec.layer_dirs()[0] / "bin" / "busybox").is_file()


def test_second_pull_downloads_nothing(registry, engine, cutting_proxy):
    # through a proxy that would cut any blob download: the second pull must not fetch one
    engine.images.pull(f"{registry.host}/busybox:latest")
    before = store_files(engine.root.path)
    events: list[dict] = []
    res = engine.images.pull(f"{registry.host}/busybox:latest", progress=events.append)
    assert res["status"] == f"Image is up to date for {registry.host}/busybox:latest"
    assert not any(e["status"] in ("Downloading", "Pulling fs layer") for e in events)
    assert statuses(events)[-1] == f"Status: Image is up to date for {registry.host}/busybox:latest"
    assert store_files(engine.root.path) == before


def config_digest(registry, repo: str, ref: str = "latest") -> str:
    return json.loads(registry.manifest(repo, ref)[1])["config"]["digest"]


def test_pull_by_digest_and_oci(registry, engine):
    digest = registry.images["oci/busybox:latest"]
    res = engine.images.pull(f"{registry.host}/oci/busybox@{digest}")
    assert res["id"] == config_digest(registry, "oci/busybox") and res["digest"] == digest
    info = engine.images.inspect(f"{registry.host}/oci/busybox@{digest}")
    assert info["RepoTags"] == []  # pulled by digest: no tag, as docker
    assert info["RepoDigests"] == [f"{registry.host}/oci/busybox@{digest}"]
    again = engine.images.pull(f"{registry.host}/oci/busybox@{digest}")
    assert again["status"] == f"Image is up to date for {registry.host}/oci/busybox@{digest}"


@pytest.mark.parametrize("repo,media_type", [
    ("zstd/busybox", "application/vnd.oci.image.layer.v1.tar+zstd"),
    ("plain/busybox", "application/vnd.oci.image.layer.v1.tar"),
])
def test_pull_zstd_and_uncompressed_layers(registry, engine, repo, media_type):
    res = engine.images.pull(f"{registry.host}/{repo}:latest")
    assert res["id"] == busybox_id()
    rec = engine.images.get(res["id"])
    assert rec.layers[0]["mediaType"] == media_type
    assert (rec.layer_dirs()[0] / "bin" / "sh").is_symlink()


def test_index_gives_the_host_platform(registry, engine):
    res = engine.images.pull(f"{registry.host}/multi/busybox:latest")
    assert res["digest"] == registry.platforms["index"]
    assert res["id"] == busybox_id()
    assert engine.images.inspect(res["id"])["Architecture"] == host_arch()
    # RepoDigests records the index digest, as docker does
    assert engine.images.inspect(res["id"])["RepoDigests"] == [f"{registry.host}/multi/busybox@{res['digest']}"]


def test_index_other_platform_on_request(registry, engine):
    other = "arm64" if host_arch() != "arm64" else "amd64"
    res = engine.images.pull(f"{registry.host}/multi/busybox:latest", platform=f"linux/{other}")
    info = engine.images.inspect(res["id"])
    assert info["Architecture"] == other and res["id"] != busybox_id()
    assert info["Config"]["Cmd"] == ["/hello"]


def test_no_matching_platform_lists_offers(registry, engine):
    with pytest.raises(NoMatchingPlatform) as e:
        engine.images.pull(f"{registry.host}/multi/busybox:latest", platform="linux/s390x")
    msg = str(e.value)
    assert msg.startswith("no matching manifest for linux/s390x in the manifest list entries")
    assert f"linux/{host_arch()}" in msg and ("linux/arm64/v8" in msg or "linux/amd64" in msg)
    assert store_files(engine.root.path)["images/records"] == []


def test_unknown_image_in_dockers_words(registry, engine):
    with pytest.raises(ImageNotFoundRemote) as e:
        engine.images.pull(f"{registry.host}/busybox:nosuchtag")
    assert str(e.value) == (f"manifest for {registry.host}/busybox:nosuchtag not found: "
                            "manifest unknown: manifest unknown")


def test_unreachable_registry(engine):
    from servers import free_port

    port = free_port()
    with pytest.raises(RegistryUnreachable) as e:
        engine.images.pull(f"127.0.0.1:{port}/busybox:latest")
    assert f"127.0.0.1:{port}" in str(e.value) and "connection refused" in str(e.value)


def test_corrupted_blob_refused_nothing_kept(make_registry, engine):
    reg = make_registry(fill_images="busybox")
    _, raw = reg.manifest("busybox", "latest")
    layer = json.loads(raw)["layers"][0]
    data_path = reg.blob_data_path(layer["digest"])
    data = bytearray(data_path.read_bytes())
    data[len(data) // 2] ^= 0xFF       # same size, one byte flipped
    data_path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch) as e:
        engine.images.pull(f"{reg.host}/busybox:latest")
    assert f"filesystem layer verification failed for digest {layer['digest']}" in str(e.value)
    left = store_files(engine.root.path)
    assert left == {"images/blobs/sha256": [], "images/records": [], "layers": []}
    assert not engine.images.exists(f"{reg.host}/busybox:latest")


def test_connection_cut_mid_layer_resumes(registry, engine, cutting_proxy):
    proxy = cutting_proxy(registry.port, cut_after=300_000)
    res = engine.images.pull(f"{proxy.host}/busybox:latest")
    assert proxy.cuts == 1          # the layer's connection was really cut once
    # and the download went on from where it stopped, not from the start
    assert len(proxy.ranges) == 1 and proxy.ranges[0].startswith("bytes=") and proxy.ranges[0] != "bytes=0-"
    assert res["id"] == busybox_id()
    rec = engine.images.get(res["id"])
    assert (rec.layer_dirs()[0] / "bin" / "busybox").stat().st_size > 300_000


def test_shared_layer_downloaded_once_by_concurrent_pulls(registry, engine, flaky_front):
    import threading

    front = flaky_front(registry.port, [])
    man = [json.loads(registry.manifest(r, "latest")[1]) for r in ("busybox", "oci/busybox")]
    shared = man[0]["layers"][0]["digest"]
    assert shared == man[1]["layers"][0]["digest"]     # skopeo compressed the same layer the same way
    errors: list[BaseException] = []

    def pull(ref: str) -> None:
        try:
            engine.images.pull(f"{front.host}/{ref}")
        except BaseException as e:  # noqa: BLE001 - reported by the assert below
            errors.append(e)

    threads = [threading.Thread(target=pull, args=(r,)) for r in ("busybox:latest", "oci/busybox:latest")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert len([p for m, p, s in front.seen if m == "GET" and p.endswith(f"/blobs/{shared}")]) == 1
    assert engine.images.exists(f"{front.host}/busybox:latest") and engine.images.exists(f"{front.host}/oci/busybox:latest")


def test_pull_all_tags(registry, engine, busybox_archive):
    for tag in ("one", "two"):
        registry.skopeo_copy(f"docker-archive:{busybox_archive}", f"alltags/busybox:{tag}", "--format", "v2s2")
    events: list[dict] = []
    res = engine.images.pull(f"{registry.host}/alltags/busybox", all_tags=True, progress=events.append)
    assert [r["ref"] for r in res["tags"]] == [f"{registry.host}/alltags/busybox:one",
                                              f"{registry.host}/alltags/busybox:two"]
    assert res["status"] == f"Downloaded newer image for {registry.host}/alltags/busybox"
    assert statuses(events)[-1] == f"Status: Downloaded newer image for {registry.host}/alltags/busybox"
    assert sorted(engine.images.inspect(res["id"])["RepoTags"]) == [f"{registry.host}/alltags/busybox:one",
                                                                    f"{registry.host}/alltags/busybox:two"]


def test_pulled_by_digest_survives_prune(registry, engine):
    digest = registry.images["busybox:latest"]
    res = engine.images.pull(f"{registry.host}/busybox@{digest}")
    assert engine.images.prune()["ImagesDeleted"] is None        # docker prune keeps it: it has a RepoDigest
    assert engine.images.list({"dangling": ["true"]}) == []      # nor is it listed as dangling
    assert [i["Id"] for i in engine.images.list({"dangling": ["false"]})] == [res["id"]]
    assert engine.images.exists(res["id"])
    removed = engine.images.remove(f"{registry.host}/busybox@{digest}")
    assert {"Deleted": res["id"]} in removed
    assert os.listdir(engine.root.path / "images" / "blobs" / "sha256") == []


def test_single_platform_image_for_another_platform(registry, engine):
    with pytest.raises(NoMatchingPlatform) as e:
        engine.images.pull(f"{registry.host}/busybox:latest", platform="linux/s390x")
    assert str(e.value) == (f"image with reference {registry.host}/busybox:latest was found but does not match "
                            f"the specified platform: wanted linux/s390x, actual: linux/{host_arch()}")
    assert store_files(engine.root.path) == {"images/blobs/sha256": [], "images/records": [], "layers": []}


def test_both_platforms_of_an_index_then_up_to_date(registry, engine, cutting_proxy):
    other = "arm64" if host_arch() != "arm64" else "amd64"
    ref = f"{registry.host}/multi/busybox:latest"
    host_id = engine.images.pull(ref)["id"]
    other_id = engine.images.pull(ref, platform=f"linux/{other}")["id"]
    assert other_id != host_id
    assert engine.images.inspect(ref)["Id"] == other_id          # the tag follows the last pull, as docker's
    events: list[dict] = []
    res = engine.images.pull(ref, progress=events.append)       # back to the host's: nothing to fetch
    assert res["id"] == host_id and res["status"] == f"Downloaded newer image for {ref}"
    assert not any(e["status"] in ("Pulling fs layer", "Downloading") for e in events)
    assert engine.images.pull(ref)["status"] == f"Image is up to date for {ref}"


def test_cut_download_restarts_when_range_is_ignored(registry, engine, cutting_proxy, flaky_front):
    front = flaky_front(registry.port, [], drop=("range",))       # a registry that ignores Range
    proxy = cutting_proxy(front.httpd.server_address[1], cut_after=300_000)
    layer = json.loads(registry.manifest("busybox", "latest")[1])["layers"][0]["digest"]
    res = engine.images.pull(f"{proxy.host}/busybox:latest")
    assert proxy.cuts == 1 and res["id"] == busybox_id()
    assert [s for m, p, s in front.seen if p.endswith(layer)] == [200, 200]   # whole blob twice
    assert len(proxy.ranges) == 1                                           # Range was asked for


def test_docker_manifest_list(registry, engine):
    ctype, raw = registry.manifest("dlist/busybox", "latest")
    assert ctype == "application/vnd.docker.distribution.manifest.list.v2+json"
    res = engine.images.pull(f"{registry.host}/dlist/busybox:latest")
    assert res["digest"] == registry.images["dlist/busybox:latest"]
    entry = next(m for m in json.loads(raw)["manifests"] if m["platform"]["architecture"] == host_arch())
    child = json.loads(registry.manifest("dlist/busybox", entry["digest"])[1])
    assert child["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert res["id"] == child["config"]["digest"]
    assert engine.images.inspect(res["id"])["Architecture"] == host_arch()


def _push_layers(registry, tmp_path, repo_tag: str, layers: list[bytes], config_patch: dict | None = None) -> str:
    """Push an OCI image made of these plain layer tars (gzip-compressed here)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    import servers

    layout = servers.OciLayout(tmp_path / f"layout-{repo_tag.replace('/', '-').replace(':', '-')}")
    cfg = {"architecture": host_arch(), "os": "linux", "config": {"Cmd": ["sh"]}}
    desc = layout.image(cfg, layers)
    if config_patch:       # rewrite the config (e.g. a wrong diff id) and the manifest naming it
        man = json.loads((layout.path / "blobs/sha256" / desc["digest"][7:]).read_bytes())
        doc = json.loads((layout.path / "blobs/sha256" / man["config"]["digest"][7:]).read_bytes())
        doc.update(config_patch)
        raw = json.dumps(doc).encode()
        man["config"] = dict(man["config"], digest=layout.put(raw), size=len(raw))
        mraw = json.dumps(man).encode()
        desc = dict(desc, digest=layout.put(mraw), size=len(mraw))
    layout.name(desc, "latest")
    return registry.skopeo_copy(f"oci:{layout.path}:latest", repo_tag, "--preserve-digests")


def _tar(members: list[tuple]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                ti.size, ti.mode = len(data), 0o644
                tf.addfile(ti, io.BytesIO(data))
            else:
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tf.addfile(ti)
    return buf.getvalue()


def test_big_layer_unpacked_while_it_downloads(registry, engine, tmp_path):
    """Several MB in one layer: unpacked as it streams, Extracting reports bytes of the blob."""
    data = os.urandom(6 << 20)
    _push_layers(registry, tmp_path, "stream/big:latest", [_tar([("data/blob.bin", "file", data)]),
                                                          _tar([("etc/hello", "file", b"hi\n")])])
    events: list[dict] = []
    res = engine.images.pull(f"{registry.host}/stream/big:latest", progress=events.append)
    rec = engine.images.get(res["id"])
    assert (rec.layer_dirs()[0] / "data" / "blob.bin").read_bytes() == data
    assert (rec.layer_dirs()[1] / "etc" / "hello").read_bytes() == b"hi\n"
    sizes = {l["digest"][7:19]: l["blob_size"] for l in rec.layers}
    extracted = {e["id"]: e["progressDetail"]["current"] for e in events if e["status"] == "Extracting"}
    assert extracted == sizes                       # the last Extracting of each layer: all its bytes
    assert rec.layers[0]["size"] > len(data)        # the uncompressed size is recorded
    assert [e["status"] for e in events if e.get("id") == rec.layers[0]["digest"][7:19]][-1] == "Pull complete"
    assert not any(n.startswith(".") for n in os.listdir(engine.root.path / "layers"))


def test_hostile_layer_from_a_registry_refused_nothing_kept(registry, engine, tmp_path):
    from engine.errors import UnsafeContent

    evil = _tar([("etc", "link", "/"), ("etc/pwned", "file", b"x")])       # writes through a symlink
    _push_layers(registry, tmp_path, "stream/evil:latest", [evil])
    with pytest.raises(UnsafeContent):
        engine.images.pull(f"{registry.host}/stream/evil:latest")
    assert not os.path.exists("/pwned")
    assert store_files(engine.root.path) == {"images/blobs/sha256": [], "images/records": [], "layers": []}


def test_layer_not_matching_its_diff_id_refused_nothing_kept(registry, engine, tmp_path):
    layer = _tar([("etc/hello", "file", b"hi\n")])
    _push_layers(registry, tmp_path, "stream/wrongdiff:latest", [layer],
                 {"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}})
    with pytest.raises(DigestMismatch) as e:
        engine.images.pull(f"{registry.host}/stream/wrongdiff:latest")
    assert "sha256:" + "0" * 64 in str(e.value)
    assert store_files(engine.root.path) == {"images/blobs/sha256": [], "images/records": [], "layers": []}


@pytest.mark.parametrize("auth", [None, "htpasswd", "token"])
def test_warm_pull_in_a_new_process_never_imports_httpx(make_registry, tmp_path, auth):
    """Nothing to fetch: one HEAD (with Basic or a Bearer token), the HTTP stack left unimported."""
    import subprocess
    import sys
    from pathlib import Path

    from engine.api import Engine

    reg = make_registry(auth=auth, fill_images="busybox")
    if auth == "token":
        reg.token_server.anonymous_pull = False
    if auth:
        from engine.registry import dockerconfig
        from engine.registry.dockerconfig import Credentials

        dockerconfig.save(reg.host, Credentials(*reg.creds))
    ref = f"{reg.host}/busybox:latest"
    root = tmp_path / "root"
    first = Engine(str(root)).images.pull(ref)
    code = ("import sys; from engine.api import Engine; r = Engine(sys.argv[1]).images.pull(sys.argv[2]); "
            "print(r['status'], r['id']); print('httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(root), ref], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"Image is up to date for {ref} {first['id']}", "False"]
