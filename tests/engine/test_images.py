"""The image store: docker-save and OCI archives (built here with tarfile), import,
tag/save/load round trip, inspect, remove refused while in use, prune, shared layers."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import threading

import pytest
import zstandard

from engine.errors import Conflict, InvalidArgument, NotFound
from engine.images import ImageStore
from engine.images.archive import host_arch

from test_unpack import make_tar


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))


def image_config(layers: list[bytes], **config) -> bytes:
    return json.dumps({
        "architecture": host_arch(), "os": "linux", "created": "2024-02-03T04:05:06.123456789Z",
        "config": config, "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]},
    }).encode()


LOWER = make_tar([("etc", "dir"), ("etc/hello", "file", {"data": b"lower"}), ("etc/gone", "file"),
                  ("bin", "dir"), ("bin/x", "file")])
UPPER = make_tar([("etc", "dir"), ("etc/hello", "file", {"data": b"upper"}),
                  ("etc/.wh.gone", "file", {"data": b""})])


def docker_archive(path, layers=(LOWER, UPPER), tags=("app:1",), compress=None, **config) -> str:
    cfg = image_config(list(layers), **(config or {"Cmd": ["sh"], "Env": ["A=1"]}))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        names = []
        for i, l in enumerate(layers):
            names.append(f"layer{i}/layer.tar")
            add(tf, names[-1], l)
        add(tf, "cfg.json", cfg)
        add(tf, "manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": list(tags) or None,
                                               "Layers": names}]).encode())
        add(tf, "repositories", b"{}")
    data = buf.getvalue()
    if compress == "gzip":
        data = gzip.compress(data)
    elif compress == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return sha(cfg)


def oci_archive(path, layers=(LOWER, UPPER), name="docker.io/me/oci:2", via_index=True) -> str:
    blobs = {}
    gz = [gzip.compress(l) for l in layers]
    cfg = image_config(list(layers), Cmd=["/bin/true"], Labels={"k": "v"})
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(g), "size": len(g)}
                   for g in gz],
    }).encode()
    for b in [cfg, manifest, *gz]:
        blobs[sha(b)] = b
    top = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
           "size": len(manifest)}
    if via_index:  # a multi-platform index, as buildx writes it
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [dict(top, platform={"architecture": host_arch(), "os": "linux"})]}).encode()
        blobs[sha(idx)] = idx
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(idx), "size": len(idx)}
    top["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "2"}
    with tarfile.open(path, "w") as tf:
        add(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add(tf, "index.json", json.dumps({"schemaVersion": 2, "manifests": [top]}).encode())
        for d, b in blobs.items():
            add(tf, "blobs/sha256/" + d[7:], b)
    return sha(cfg)


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "root")


@pytest.mark.parametrize("compress", [None, "gzip", "zstd"])
def test_load_docker_save_archive(store, tmp_path, compress):
    iid = docker_archive(tmp_path / "a.tar", compress=compress)
    assert store.load(tmp_path / "a.tar") == ["app:1"]
    rec = store.get("app:1")
    assert rec.id == iid and rec.tags == ["app:1"]
    assert rec.config == {"Cmd": ["sh"], "Env": ["A=1"]}
    assert rec.size == len(LOWER) + len(UPPER)
    assert store.get("docker.io/library/app:1").id == iid
    assert store.get(iid).id == iid and store.get(iid[7:19]).id == iid
    assert store.exists("app:1") and not store.exists("app:2")
    assert not list((store.root.path / "images" / "tmp").glob("*"))  # decompressed copy removed


def test_load_oci_archive_with_index_and_gzip_layers(store, tmp_path):
    iid = oci_archive(tmp_path / "o.tar")
    assert store.load(tmp_path / "o.tar") == ["me/oci:2"]
    rec = store.get("me/oci:2")
    assert rec.id == iid and rec.config["Labels"] == {"k": "v"}
    assert rec.diff_ids == [sha(LOWER), sha(UPPER)]
    assert rec.repo_digests and rec.repo_digests[0].startswith("me/oci@sha256:")
    assert store.get(rec.repo_digests[0]).id == iid


@pytest.mark.root
def test_layer_dirs_lowest_first_unpacked_once_and_shared(store, tmp_path):
    docker_archive(tmp_path / "a.tar")
    oci_archive(tmp_path / "o.tar")  # same layers, other image
    store.load(tmp_path / "a.tar")
    store.load(tmp_path / "o.tar")
    a, o = store.get("app:1"), store.get("me/oci:2")
    dirs = a.layer_dirs()
    assert [d.name for d in dirs] == [sha(LOWER)[7:], sha(UPPER)[7:]]
    assert (dirs[0] / "etc/hello").read_bytes() == b"lower" and (dirs[1] / "etc/hello").read_bytes() == b"upper"
    marker = dirs[0] / "marker"
    marker.write_text("same dir")
    assert o.layer_dirs() == dirs and (o.layer_dirs()[0] / "marker").exists()
    assert not [p for p in dirs[0].parent.iterdir() if p.name.startswith(".")]


@pytest.mark.root
def test_concurrent_first_use_unpacks_once(store, tmp_path):
    docker_archive(tmp_path / "a.tar")
    store.load(tmp_path / "a.tar")
    results, errors = [], []

    def use():
        try:
            results.append(ImageStore(store.root).get("app:1").layer_dirs())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(r == results[0] for r in results)


def test_corrupt_layer_is_refused_and_nothing_kept(store, tmp_path):
    cfg = image_config([LOWER])
    with tarfile.open(tmp_path / "bad.tar", "w") as tf:
        add(tf, "l.tar", UPPER)  # not the layer the config names
        add(tf, "c.json", cfg)
        add(tf, "manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["bad:1"], "Layers": ["l.tar"]}]).encode())
    with pytest.raises(InvalidArgument, match="does not match"):
        store.load(tmp_path / "bad.tar")
    assert not store.exists("bad:1")
    assert not [p for p in (store.dir / "blobs" / "sha256").iterdir()]


@pytest.mark.parametrize("content, msg", [
    (b"not a tar at all" * 100, "not an image archive"),
    (None, "neither manifest.json"),
])
def test_bad_archives_are_refused(store, tmp_path, content, msg):
    p = tmp_path / "x.tar"
    if content is None:
        with tarfile.open(p, "w") as tf:
            add(tf, "hello", b"x")
    else:
        p.write_bytes(content)
    with pytest.raises(InvalidArgument, match=msg):
        store.load(p)
    with pytest.raises(NotFound):
        store.load(tmp_path / "missing.tar")


def test_inspect_is_docker_shaped(store, tmp_path):
    iid = docker_archive(tmp_path / "a.tar", Cmd=["sh"], Entrypoint=["/e"], WorkingDir="/w", User="www",
                         ExposedPorts={"80/tcp": {}}, StopSignal="SIGQUIT", Volumes={"/data": {}},
                         Healthcheck={"Test": ["CMD", "true"]}, Labels={"a": "b"}, Env=["X=1"])
    store.load(tmp_path / "a.tar")
    d = store.inspect("app:1")
    assert d["Id"] == iid and d["RepoTags"] == ["app:1"] and d["Os"] == "linux"
    assert d["Architecture"] == host_arch() and d["Created"] == "2024-02-03T04:05:06.123456789Z"
    c = d["Config"]
    assert (c["Cmd"], c["Entrypoint"], c["WorkingDir"], c["User"]) == (["sh"], ["/e"], "/w", "www")
    assert c["ExposedPorts"] == {"80/tcp": {}} and c["StopSignal"] == "SIGQUIT"
    assert c["Volumes"] == {"/data": {}} and c["Healthcheck"] == {"Test": ["CMD", "true"]}
    assert c["Labels"] == {"a": "b"} and c["Env"] == ["X=1"]
    assert d["RootFS"] == {"Type": "layers", "Layers": [sha(LOWER), sha(UPPER)]}
    assert d["Size"] == len(LOWER) + len(UPPER)
    assert store.get("app:1").created_unix == 1706933106


def test_import_tarball_with_changes(store, tmp_path):
    rootfs = tmp_path / "rootfs.tar.gz"
    rootfs.write_bytes(gzip.compress(make_tar([("bin", "dir"), ("bin/sh", "file")])))
    iid = store.import_tarball(rootfs, "imported:v1", changes=[
        'CMD ["/bin/sh", "-c", "echo hi"]', "ENV A=1 B=two", "WORKDIR /srv", "EXPOSE 80 53/udp",
        "LABEL team=core", "USER nobody", "ENTRYPOINT /bin/run"])
    rec = store.get("imported:v1")
    assert rec.id == iid and rec.tags == ["imported:v1"]
    c = rec.config
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"] and c["Env"] == ["A=1", "B=two"]
    assert c["WorkingDir"] == "/srv" and c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Labels"] == {"team": "core"} and c["User"] == "nobody"
    assert c["Entrypoint"] == ["/bin/sh", "-c", "/bin/run"]
    untagged = store.import_tarball(rootfs)
    assert store.get(untagged).tags == []


def test_import_refuses_bad_input(store, tmp_path):
    p = tmp_path / "notatar"
    p.write_bytes(b"\x00garbage" * 200)
    with pytest.raises(InvalidArgument, match="not a tar"):
        store.import_tarball(p, "x:1")
    ok = tmp_path / "ok.tar"
    ok.write_bytes(make_tar([("a", "file")]))
    with pytest.raises(InvalidArgument, match="not a valid change"):
        store.import_tarball(ok, "x:1", changes=["RUN rm -rf /"])
    with pytest.raises(InvalidArgument):
        store.import_tarball(ok, "Bad:Ref")
    assert store.list() == []
    assert not [p for p in (store.dir / "blobs" / "sha256").iterdir()]


def test_tag_save_load_round_trip(store, tmp_path):
    iid = docker_archive(tmp_path / "a.tar")
    store.load(tmp_path / "a.tar")
    store.tag("app:1", "localhost:5000/team/app:prod")
    assert sorted(store.get(iid).tags) == ["app:1", "localhost:5000/team/app:prod"]
    store.save(["app:1", "localhost:5000/team/app:prod"], tmp_path / "saved.tar")
    with tarfile.open(tmp_path / "saved.tar") as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        assert json.load(tf.extractfile("oci-layout")) == {"imageLayoutVersion": "1.0.0"}
        assert sorted(manifest[0]["RepoTags"]) == ["app:1", "localhost:5000/team/app:prod"]
        for layer in manifest[0]["Layers"]:  # uncompressed, as docker load wants them
            assert sha(tf.extractfile(layer).read()) == "sha256:" + layer.rsplit("/", 1)[1]
    other = ImageStore(tmp_path / "root2")
    assert sorted(other.load(tmp_path / "saved.tar")) == ["app:1", "localhost:5000/team/app:prod"]
    assert other.get("app:1").id == iid and other.inspect("app:1")["RootFS"] == store.inspect("app:1")["RootFS"]


def test_save_by_id_names_nothing(store, tmp_path):
    iid = docker_archive(tmp_path / "a.tar")
    store.load(tmp_path / "a.tar")
    store.save([iid[7:19]], tmp_path / "byid.tar")
    other = ImageStore(tmp_path / "r2")
    assert other.load(tmp_path / "byid.tar") == [iid]
    assert other.get(iid).tags == []


def test_save_of_oci_loaded_gzip_layers_decompresses(store, tmp_path):
    iid = oci_archive(tmp_path / "o.tar")
    store.load(tmp_path / "o.tar")
    store.save(["me/oci:2"], tmp_path / "s.tar")
    other = ImageStore(tmp_path / "r2")
    assert other.load(tmp_path / "s.tar") == ["me/oci:2"]
    assert other.get("me/oci:2").id == iid


def test_retag_moves_tag_and_leaves_old_image_dangling(store, tmp_path):
    a = docker_archive(tmp_path / "a.tar")
    b = docker_archive(tmp_path / "b.tar", layers=(LOWER,))
    store.load(tmp_path / "a.tar")
    moved = []
    store.load(tmp_path / "b.tar", on_retag=lambda tag, old: moved.append((tag, old)))
    assert moved == [("app:1", a)]
    assert store.get("app:1").id == b
    assert store.get(a).tags == []
    assert [r.id for r in store.list({"dangling": ["true"]})] == [a]
    assert [r.id for r in store.list({"reference": ["app"]})] == [b]


def test_remove_refused_while_in_use_unless_forced(store, tmp_path):
    iid = docker_archive(tmp_path / "a.tar")
    store.load(tmp_path / "a.tar")
    in_use = lambda image_id: ["c0ffee" * 10] if image_id == iid else []  # noqa: E731
    with pytest.raises(Conflict, match="container c0ffeec0ffee is using its referenced image"):
        store.remove("app:1", in_use=in_use)
    with pytest.raises(Conflict, match="image is being used by container c0ffeec0ffee"):
        store.remove(iid, in_use=in_use)
    assert store.exists("app:1")
    out = store.remove("app:1", force=True, in_use=in_use)
    assert out == [{"Untagged": "app:1"}, {"Deleted": iid}]
    assert not store.exists(iid)
    with pytest.raises(NotFound, match="No such image: app:1"):
        store.remove("app:1")


@pytest.mark.root
def test_remove_untags_then_deletes_blobs_and_layers(store, tmp_path):
    iid = docker_archive(tmp_path / "a.tar")
    store.load(tmp_path / "a.tar")
    store.tag("app:1", "app:2")
    dirs = store.get("app:1").layer_dirs()
    assert store.remove("app:2") == [{"Untagged": "app:2"}]
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        store.tag("app:1", "app:3") or store.remove(iid)
    assert store.remove(iid, force=True)[-1] == {"Deleted": iid}
    assert not any(d.exists() for d in dirs)
    assert not [p for p in (store.dir / "blobs" / "sha256").iterdir()]
    assert store.list() == []


def test_prune_dangling_and_all(store, tmp_path):
    a = docker_archive(tmp_path / "a.tar")
    b = docker_archive(tmp_path / "b.tar", layers=(LOWER,))
    store.load(tmp_path / "a.tar")
    store.load(tmp_path / "b.tar")  # a is now dangling
    rep = store.prune()
    assert rep["ImagesDeleted"] == [{"Deleted": a}] and rep["SpaceReclaimed"] > 0
    assert store.prune(all=True, in_use=lambda i: i == b)["ImagesDeleted"] is None
    assert store.prune(all=True)["ImagesDeleted"] == [{"Untagged": "app:1"}, {"Deleted": b}]


def test_get_unknown_image(store):
    with pytest.raises(NotFound, match="No such image: nope"):
        store.get("nope")
    with pytest.raises(NotFound, match="No such image"):
        store.get("Not/Valid:Ref!")


def test_oci_bare_ref_name_is_only_a_tag(store, tmp_path):
    """umoci/skopeo layouts carry ref.name "latest" alone: that names no repository (docker loads it untagged)."""
    iid = oci_archive(tmp_path / "o.tar", name="unused", via_index=False)
    with tarfile.open(tmp_path / "o.tar") as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}
    idx = json.loads(members["index.json"])
    idx["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    members["index.json"] = json.dumps(idx).encode()
    with tarfile.open(tmp_path / "bare.tar", "w") as tf:
        for name, data in members.items():
            add(tf, name, data)
    assert store.load(tmp_path / "bare.tar") == [iid]
    assert store.get(iid).tags == []


def test_legacy_docker_archive_with_symlinked_layer_and_dot_slash_names(store, tmp_path):
    """Old docker saves link a repeated layer to the first copy and name members './x'."""
    cfg = image_config([LOWER, LOWER], Cmd=["sh"])
    with tarfile.open(tmp_path / "old.tar", "w") as tf:
        add(tf, "./aaa/layer.tar", LOWER)
        link = tarfile.TarInfo("./bbb/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../aaa/layer.tar"
        tf.addfile(link)
        add(tf, "./c.json", cfg)
        add(tf, "./manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["old:1"],
                                                 "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]).encode())
    assert store.load(tmp_path / "old.tar") == ["old:1"]
    assert store.get("old:1").diff_ids == [sha(LOWER), sha(LOWER)]


def test_archive_member_paths_cannot_leave_the_archive(store, tmp_path):
    cfg = image_config([LOWER])
    with tarfile.open(tmp_path / "evil.tar", "w") as tf:
        add(tf, "l.tar", LOWER)
        add(tf, "c.json", cfg)
        add(tf, "manifest.json", json.dumps([{"Config": "../../../etc/passwd", "RepoTags": ["e:1"],
                                               "Layers": ["l.tar"]}]).encode())
    with pytest.raises(InvalidArgument, match="leaves the archive"):
        store.load(tmp_path / "evil.tar")


def test_store_is_a_valid_oci_layout(store, tmp_path):
    """Every index entry's manifest names blobs that exist with the sizes it states (skopeo reads it)."""
    docker_archive(tmp_path / "a.tar")
    oci_archive(tmp_path / "o.tar")
    store.load(tmp_path / "a.tar")
    store.load(tmp_path / "o.tar")
    store.import_tarball(_write(tmp_path / "r.tar", make_tar([("x", "file")])), "imp:1")
    blobs = store.dir / "blobs" / "sha256"
    index = json.loads((store.dir / "index.json").read_text())
    assert json.loads((store.dir / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert len(index["manifests"]) == 3
    for desc in index["manifests"]:
        raw = (blobs / desc["digest"][7:]).read_bytes()
        assert len(raw) == desc["size"] and sha(raw) == desc["digest"]
        man = json.loads(raw)
        for d in [man["config"]] + man["layers"]:
            assert (blobs / d["digest"][7:]).stat().st_size == d["size"]


def _write(p, data: bytes):
    p.write_bytes(data)
    return p


def test_prune_until_and_label_filters(store, tmp_path):
    old = docker_archive(tmp_path / "a.tar", tags=(), Labels={"keep": "yes"})  # created 2024-02-03
    store.load(tmp_path / "a.tar")
    assert store.prune(filters={"until": ["2024-01-01T00:00:00Z"]})["ImagesDeleted"] is None
    assert store.prune(filters={"label!": ["keep=yes"]})["ImagesDeleted"] is None
    assert store.prune(filters={"until": ["24h"], "label": ["keep"]})["ImagesDeleted"] == [{"Deleted": old}]
    with pytest.raises(InvalidArgument, match="invalid until"):
        store.prune(filters={"until": ["soon"]})
