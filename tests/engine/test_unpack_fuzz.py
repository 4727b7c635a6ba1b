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

from test_unpack import make_tar, outside_listing, unpack_bytes

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
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ENTRY, min_size=1, max_size=8))
def test_random_layers_never_write_outside(entries):
    base = Path(tempfile.mkdtemp(prefix="pyc-fuzz-"))
    try:
        dest = base / "x" / "y" / "layer"
        dest.mkdir(parents=True)
        sentinel = base / "sentinel"
        sentinel.mkdir()
        (sentinel / "f").write_text("original")
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
