"""Named volumes: create/list/inspect/remove/prune like Docker's local driver, and seeding
from the merged image content on first use only."""
from __future__ import annotations

import io
import os
import stat

import pytest

from engine.errors import Conflict, InvalidArgument, NotFound
from engine.images.unpack import unpack_stream
from engine.volumes import ANONYMOUS_LABEL, VolumeStore

from test_unpack import make_tar


@pytest.fixture
def vols(tmp_path):
    return VolumeStore(tmp_path / "root")


def test_create_inspect_list(vols, tmp_path):
    v = vols.create("data", labels={"com.docker.compose.project": "p"})
    assert v["Name"] == "data" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Mountpoint"] == str(tmp_path / "root" / "volumes" / "data" / "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert v["Labels"] == {"com.docker.compose.project": "p"} and v["Options"] == {}
    assert v["CreatedAt"].endswith("Z")
    assert vols.inspect("data") == v
    assert vols.create("data") == v  # existing volume returned, like docker
    anon = vols.create()
    assert len(anon["Name"]) == 64 and ANONYMOUS_LABEL in anon["Labels"]
    assert sorted(x["Name"] for x in vols.list()) == sorted(["data", anon["Name"]])
    assert [x["Name"] for x in vols.list({"label": ["com.docker.compose.project=p"]})] == ["data"]
    assert [x["Name"] for x in vols.list({"label!": ["com.docker.compose.project"]})] == [anon["Name"]]
    assert [x["Name"] for x in vols.list({"name": ["dat"]})] == ["data"]
    assert [x["Name"] for x in vols.list({"dangling": ["false"]}, in_use=lambda n: n == "data")] == ["data"]
    assert vols.ensure("data") == vols.mountpoint("data")
    assert vols.ensure("new-one").is_dir()


@pytest.mark.parametrize("name", ["a", "-x", "has space", "x/y", "..", "é"])
def test_bad_names_are_refused(vols, name):
    with pytest.raises(InvalidArgument, match="invalid characters for a local volume name"):
        vols.create(name)
    assert vols.list() == []


def test_driver_options(vols):
    t = vols.create("tm", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000"})
    assert t["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000"}
    assert vols.mount_info("tm") == {"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000"}
    vols.create("bd", driver_opts={"type": "none", "device": "/srv/x", "o": "bind"})
    assert vols.mount_info("bd") == {"type": "none", "device": "/srv/x", "o": "bind"}
    vols.create("plain")
    assert vols.mount_info("plain") is None
    with pytest.raises(InvalidArgument, match='invalid option key: "size2"'):
        vols.create("x1", driver_opts={"size2": "1"})
    with pytest.raises(InvalidArgument, match='missing required option: "type"'):
        vols.create("x2", driver_opts={"device": "/a"})
    with pytest.raises(InvalidArgument, match="absolute"):
        vols.create("x3", driver_opts={"type": "none", "device": "rel", "o": "bind"})
    with pytest.raises(InvalidArgument, match="plugin"):
        vols.create("x4", driver="nfs-plugin")
    assert not vols.exists("x1")


def test_remove_and_in_use(vols):
    vols.create("data")
    (vols.mountpoint("data") / "f").write_text("x")
    with pytest.raises(Conflict, match=r"volume is in use - \[abc123\]"):
        vols.remove("data", in_use=lambda n: ["abc123"])
    with pytest.raises(Conflict):
        vols.remove("data", force=True, in_use=lambda n: ["abc123"])
    vols.remove("data", in_use=lambda n: [])
    assert not vols.exists("data") and not (vols.dir / "data").exists()
    with pytest.raises(NotFound, match="no such volume"):
        vols.remove("data")
    vols.remove("data", force=True)
    with pytest.raises(NotFound, match="no such volume"):
        vols.inspect("data")


def test_prune_anonymous_by_default_all_with_flag(vols):
    named = vols.create("named")["Name"]
    anon = vols.create()["Name"]
    used = vols.create()["Name"]
    (vols.mountpoint(anon) / "f").write_bytes(b"12345")
    rep = vols.prune(in_use=lambda n: n == used)
    assert rep == {"VolumesDeleted": [anon], "SpaceReclaimed": 5}
    rep = vols.prune({"all": ["true"]}, in_use=lambda n: n == used)
    assert rep["VolumesDeleted"] == [named]
    assert [v["Name"] for v in vols.list()] == [used]


def _layers(tmp_path, *tars):
    dirs = []
    for i, t in enumerate(tars):
        d = tmp_path / f"layer{i}"
        d.mkdir()
        os.chmod(d, 0o755)
        unpack_stream(io.BytesIO(t), d)
        dirs.append(d)
    return dirs


@pytest.mark.root
def test_seed_copies_merged_image_content_on_first_use_only(vols, tmp_path):
    lower = make_tar([
        ("data", "dir", {"mode": 0o750, "uid": 1000}),
        ("data/a", "file", {"data": b"lower a"}),
        ("data/b", "file", {"data": b"lower b"}),
        ("data/sub", "dir"), ("data/sub/old", "file"),
        ("data/keep", "dir"), ("data/keep/k1", "file"),
        ("data/link", "sym", {"target": "/etc/passwd"}),
        ("srv", "sym", {"target": "/data"}),
    ])
    upper = make_tar([
        ("data", "dir", {"mode": 0o750, "uid": 1000}),
        ("data/a", "file", {"data": b"upper a", "mode": 0o600, "uid": 33}),
        ("data/.wh.b", "file", {"data": b""}),
        ("data/sub", "dir"), ("data/sub/.wh..wh..opq", "file", {"data": b""}), ("data/sub/new", "file"),
        ("data/keep/k2", "file"),
    ])
    layer_dirs = _layers(tmp_path, lower, upper)
    vols.create("vol")
    vols.seed("vol", layer_dirs, "/data")
    mp = vols.mountpoint("vol")
    got = sorted(str(p.relative_to(mp)) for p in mp.rglob("*"))
    assert got == ["a", "keep", "keep/k1", "keep/k2", "link", "sub", "sub/new"]
    assert (mp / "a").read_bytes() == b"upper a"
    st = os.stat(mp / "a")
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 33
    root_st = os.stat(mp)
    assert stat.S_IMODE(root_st.st_mode) == 0o750 and root_st.st_uid == 1000
    assert os.readlink(mp / "link") == "/etc/passwd"  # copied as a link, never followed
    (mp / "a").unlink()
    vols.seed("vol", layer_dirs, "/data")  # second use: not copied again
    assert not (mp / "a").exists()

    vols.create("through-link")
    vols.seed("through-link", layer_dirs, "/srv")  # a symlink inside the image is followed inside it
    assert (vols.mountpoint("through-link") / "a").read_bytes() == b"upper a"


@pytest.mark.root
def test_seed_never_leaves_the_image(vols, tmp_path):
    layer_dirs = _layers(tmp_path, make_tar([("up", "sym", {"target": "/"}),
                                             ("etc", "dir"), ("etc/only-in-image", "file")]))
    vols.create("vol")
    vols.seed("vol", layer_dirs, "/up/../../../../etc")  # resolves inside the image: its /etc
    assert sorted(p.name for p in vols.mountpoint("vol").iterdir()) == ["only-in-image"]
    vols.create("wv")
    vols.seed("wv", layer_dirs, "/missing/path")
    assert list(vols.mountpoint("wv").iterdir()) == []
    vols.create("file-target")
    vols.seed("file-target", layer_dirs, "/etc/only-in-image")  # a file in the image: nothing to copy
    assert list(vols.mountpoint("file-target").iterdir()) == []


@pytest.mark.root
def test_seed_skips_a_volume_with_content(vols, tmp_path):
    layer_dirs = _layers(tmp_path, make_tar([("data", "dir"), ("data/a", "file")]))
    vols.create("vol")
    (vols.mountpoint("vol") / "mine").write_text("x")
    vols.seed("vol", layer_dirs, "/data")
    assert [p.name for p in vols.mountpoint("vol").iterdir()] == ["mine"]
