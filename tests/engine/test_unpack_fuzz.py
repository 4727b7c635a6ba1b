"""Property test of the unpacker: whatever a random layer holds (names with '..', absolute
paths, links to anywhere, links through links), unpacking either refuses it or writes only
inside the layer dir, and no symlink left in the layer resolves above its root."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InvalidArgument, UnsafeContent

from test_unpack import make_box, make_tar, outside_listing, unpack_bytes

COMPONENTS = st.sampled_from(["a", "b", "c", "..", ".", "", "etc", "sentinel"])
NAMES = st.lists(COMPONENTS, min_size=1, max_size=4).map("/".join) | \
    st.lists(COMPONENTS, min_size=1, max_size=3).map(lambda p: "/" + "/".join(p))
ENTRY = st.one_of(
    st.tuples(NAMES, st.just("file")),
    st.tuples(NAMES, st.just("dir")),
    st.tuples(NAMES, st.just("sym"), NAMES.map(lambda t: {"target": t})),
    st.tuples(NAMES, st.just("link"), NAMES.map(lambda t: {"target": t})),
)


def escapes(root: Path, link: Path) -> bool:
    """Resolve ``link`` chroot-free and lexically inside ``root``: True if it climbs above it."""
    parts = list(link.relative_to(root).parts[:-1])
    todo = os.readlink(link).split("/")
    if todo and todo[0] == "":
        parts = []
    hops = 0
    while todo:
        c = todo.pop(0)
        if c in ("", "."):
            continue
        if c == "..":
            if not parts:
                return True
            parts.pop()
            continue
        parts.append(c)
        p = root.joinpath(*parts)
        if p.is_symlink():
            hops += 1
            if hops > 40:
                return False  # a loop: the kernel answers ELOOP, it never resolves anywhere
            t = os.readlink(p)
            parts.pop()
            if t.startswith("/"):
                parts = []
            todo = t.split("/") + todo
    return False


@pytest.mark.root
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ENTRY, min_size=1, max_size=8))
def test_random_layers_never_write_outside(entries):
    base = Path(tempfile.mkdtemp(prefix="pyc-fuzz-"))
    try:
        dest, sentinel = make_box(base, ("x", "y"))
        before = outside_listing(base, dest)
        try:
            unpack_bytes(make_tar(entries), dest)
        except (UnsafeContent, InvalidArgument):
            pass
        assert outside_listing(base, dest) == before
        assert (sentinel / "f").read_text() == "original"
        for p in dest.rglob("*"):
            if p.is_symlink():
                assert not escapes(dest, p), (p, os.readlink(p))
    finally:
        shutil.rmtree(base)


SEED_ENTRY = st.one_of(
    st.tuples(st.lists(st.sampled_from(["d", "e", "f"]), min_size=1, max_size=3).map("/".join), st.just("file")),
    st.tuples(st.lists(st.sampled_from(["d", "e"]), min_size=1, max_size=3).map("/".join), st.just("dir")),
    st.tuples(st.lists(st.sampled_from(["d", "e", "l"]), min_size=1, max_size=3).map("/".join), st.just("sym"),
              st.sampled_from(["/", "..", "../..", "/etc", "d", "/d/e", "HOST", "../../../../HOST"]).map(
                  lambda t: {"target": t})),
)


@pytest.mark.root
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(SEED_ENTRY, min_size=1, max_size=6), min_size=1, max_size=3),
       st.sampled_from(["/d", "/e", "/l", "/d/e", "/l/d", "/", "/../d"]))
def test_seeding_copies_only_image_content(layers, path):
    from engine.volumes import VolumeStore

    base = Path(tempfile.mkdtemp(prefix="pyc-fuzz-seed-"))
    try:
        host = base / "HOST"
        host.mkdir()
        (host / "secret").write_text("HOST SECRET")
        layer_dirs = []
        for i, entries in enumerate(layers):
            d = base / f"l{i}"
            d.mkdir()
            # "HOST" stands for the host directory's absolute path: inside the image it names nothing
            entries = [(e[0], e[1], {"target": str(host)}) if e[1] == "sym" and e[2]["target"] == "HOST" else e
                       for e in entries]
            try:
                unpack_bytes(make_tar(entries), d)
            except (UnsafeContent, InvalidArgument):
                shutil.rmtree(d)
                d.mkdir()
            layer_dirs.append(d)
        vols = VolumeStore(base / "root")
        vols.create("seeded")
        vols.seed("seeded", layer_dirs, path)
        for p in vols.mountpoint("seeded").rglob("*"):
            if p.is_file() and not p.is_symlink():
                assert p.read_text() != "HOST SECRET", p
        assert (host / "secret").read_text() == "HOST SECRET" and len(list(host.iterdir())) == 1
    finally:
        shutil.rmtree(base)
