"""Images and volumes seen from inside real containers (through engine.api): a whiteout in
an upper layer hides a lower file, an opaque dir hides the lower dir's content, and a named
volume is seeded from the image on first use and keeps what a container wrote."""
from __future__ import annotations

import io
import json
import tarfile
import uuid

import pytest

from engine.api import Engine
from engine.images import ImageStore

from test_images import add, image_config, sha
from test_unpack import make_tar

UPPER = make_tar([
    ("etc", "dir"), ("etc/.wh.group", "file", {"data": b""}),          # hide busybox's /etc/group
    ("var", "dir"), ("var/www", "dir", {"uid": 1000}),
    ("var/www/.wh..wh..opq", "file", {"data": b""}),                    # hide index.html below
    ("var/www/new.html", "file", {"data": b"upper page\n"}),
    ("seed", "dir"), ("seed/from-image", "file", {"data": b"seeded\n"}),
])


@pytest.fixture
def layered_image(busybox, engine_root, tmp_path):
    store = ImageStore(engine_root)
    base = store.get(busybox)
    lower = store.blobs.path(base.layers[0]["digest"]).read_bytes()
    ref = f"pyc-layers-{uuid.uuid4().hex[:8]}:1"
    cfg = json.loads(image_config([lower, UPPER], Cmd=["sh"]).decode())
    cfg["config"]["Env"] = base.config["Env"]
    raw = json.dumps(cfg).encode()
    with tarfile.open(tmp_path / "img.tar", "w") as tf:
        add(tf, "l0.tar", lower)
        add(tf, "l1.tar", UPPER)
        add(tf, "c.json", raw)
        add(tf, "manifest.json", json.dumps([{"Config": "c.json", "RepoTags": [ref],
                                               "Layers": ["l0.tar", "l1.tar"]}]).encode())
    store.load(tmp_path / "img.tar")
    yield ref
    store.remove(ref, force=True)


def run(eng: Engine, image: str, script: str, binds: list[str]) -> tuple[int, str]:
    cid = eng.containers.create({"Image": image, "Cmd": ["sh", "-c", script],
                                 "HostConfig": {"Binds": binds}})
    try:
        eng.containers.start(cid)
        code = eng.containers.wait(cid, timeout=60)
        out = b"".join(e.data for e in eng.containers.logs(cid)).decode()
        return code, out
    finally:
        eng.containers.remove(cid, force=True)


@pytest.mark.root
def test_whiteouts_opaque_dirs_and_volume_seeding_inside_containers(layered_image, engine_root):
    eng = Engine(engine_root)
    vol = f"pyc-seed-{uuid.uuid4().hex[:8]}"
    try:
        code, out = run(eng, layered_image,
                        "ls /etc; echo ---; ls /var/www; echo ---; cat /seed/from-image; echo kept > /seed/mine",
                        [f"{vol}:/seed"])
        assert code == 0, out
        etc, www, seeded = out.split("---\n")
        assert "passwd" in etc.split() and "group" not in etc.split()
        assert www.split() == ["new.html"]
        assert seeded == "seeded\n"
        code, out = run(eng, layered_image, "ls /seed; cat /seed/mine", [f"{vol}:/seed"])
        assert code == 0 and out.split() == ["from-image", "mine", "kept"]
    finally:
        eng.volumes.remove(vol, force=True)
