"""Safe layer unpacking: a corpus of malicious tarballs is refused with nothing written
outside the layer; whiteouts and opaque dirs end up in overlayfs form; metadata is kept."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import zstandard

from engine.errors import UnsafeContent
from engine.images.unpack import unpack_layer, unpack_stream


def make_tar(entries, fmt=tarfile.PAX_FORMAT) -> bytes:
    """entries: (name, kind, extra) with kind in file/dir/sym/link/chr/blk/fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for e in entries:
            name, kind = e[0], e[1]
            opts = e[2] if len(e) > 2 else {}
            ti = tarfile.TarInfo(name)
            ti.mtime = opts.get("mtime", 1_600_000_000)
            ti.mode = opts.get("mode", 0o755 if kind == "dir" else 0o644)
            ti.uid = ti.gid = opts.get("uid", 0)
            ti.pax_headers = opts.get("pax", {})
            data = None
            if kind == "file":
                data = opts.get("data", b"content of " + name.encode())
                ti.size = len(data)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, opts["target"]
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, opts["target"]
            elif kind in ("chr", "blk"):
                ti.type = tarfile.CHRTYPE if kind == "chr" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = opts.get("dev", (1, 3))
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def make_box(base: Path, nest: tuple[str, str] = ("a", "b")) -> tuple[Path, Path]:
    """Under ``base``: a layer dir nested deep enough for ``../..`` games, and a sentinel dir beside
    it holding ``f`` ("original"); (layer dir, sentinel dir)."""
    dest = base.joinpath(*nest, "layer")
    dest.mkdir(parents=True)
    sentinel = base / "sentinel"
    sentinel.mkdir()
    (sentinel / "f").write_text("original")
    return dest, sentinel


@pytest.fixture
def box(tmp_path):
    """make_box in the test's tmp dir: (tmp dir, layer dir, sentinel dir)."""
    return (tmp_path, *make_box(tmp_path))


def outside_listing(base: Path, dest: Path) -> dict:
    out = {}
    for p in sorted(base.rglob("*")):
        if p == dest or dest in p.parents:
            continue
        st = os.lstat(p)
        out[str(p)] = (st.st_mode, st.st_size, st.st_nlink, st.st_mtime_ns)
    return out


def unpack_bytes(data: bytes, dest: Path):
    return unpack_stream(io.BytesIO(data), dest)


def malicious_cases(sentinel: Path):
    s = str(sentinel)
    return {
        "dotdot": [("../../../sentinel/x", "file")],
        "dotdot-inside": [("etc/../../../../sentinel/x", "file")],
        "absolute": [(s + "/x", "file")],
        "absolute-etc": [("/etc/x", "file")],
        "symlink-root-then-file": [("root", "sym", {"target": "/"}), ("root" + s + "/x", "file")],
        "symlink-abs-dir-then-file": [("s", "sym", {"target": s}), ("s/x", "file")],
        "symlink-dotdot": [("up", "sym", {"target": "../../../sentinel"})],
        "symlink-dotdot-deep": [("d/e", "dir"), ("d/e/up", "sym", {"target": "../../../x"})],
        "symlink-chain": [("d", "dir"), ("d/l1", "sym", {"target": ".."}),
                          ("d/l2", "sym", {"target": "l1/.."})],
        "symlink-chain-late": [("d", "dir"), ("b", "sym", {"target": "d/a/.."}),
                               ("d/a", "sym", {"target": ".."})],
        "symlink-abs-dotdot": [("x", "sym", {"target": "/../../sentinel"})],
        "hardlink-etc-passwd": [("p", "link", {"target": "/etc/passwd"})],
        "hardlink-dotdot": [("p", "link", {"target": "../../../sentinel/f"})],
        "hardlink-through-symlink": [("s", "sym", {"target": s}), ("h", "link", {"target": "s/f"})],
        "hardlink-missing": [("h", "link", {"target": "nothere"})],
        "hardlink-to-device-whiteout": [("w", "chr", {"dev": (0, 0)}), ("h", "link", {"target": "w"})],
        "char-device": [("null", "chr", {"dev": (1, 3)})],
        "block-device": [("sda", "blk", {"dev": (8, 0)})],
        "file-then-parent-is-file": [("f", "file"), ("f/x", "file")],
        "empty-symlink-target": [("e", "sym", {"target": ""})],
    }


CASES = list(malicious_cases(Path("/x")).keys())


@pytest.mark.root
@pytest.mark.parametrize("case", CASES)
def test_malicious_layer_is_refused_and_nothing_written_outside(box, case):
    base, dest, sentinel = box
    before = outside_listing(base, dest)
    data = make_tar(malicious_cases(sentinel)[case])
    with pytest.raises(UnsafeContent) as ei:
        unpack_bytes(data, dest)
    assert "layer member" in str(ei.value) or "unsupported" in str(ei.value)
    assert outside_listing(base, dest) == before
    assert (sentinel / "f").read_text() == "original"
    assert os.stat(sentinel / "f").st_nlink == 1
    assert not Path("/etc/x").exists()


def test_unsafe_error_names_the_member(box):
    _, dest, _ = box
    with pytest.raises(UnsafeContent, match=r"'\.\./evil'"):
        unpack_bytes(make_tar([("../evil", "file")]), dest)


@pytest.mark.root
def test_regular_content_and_metadata_are_kept(box):
    _, dest, _ = box
    data = make_tar([
        ("./", "dir", {"mode": 0o755}),
        ("bin", "dir", {"mode": 0o755, "mtime": 1_500_000_000}),
        ("bin/tool", "file", {"mode": 0o4755, "uid": 1000, "data": b"#!/bin/sh\n"}),
        ("bin/alias", "link", {"target": "bin/tool"}),
        ("bin/sh", "sym", {"target": "/bin/busybox"}),
        ("bin/rel", "sym", {"target": "../bin/tool"}),
        ("tmp", "dir", {"mode": 0o1777}),
        ("run/pipe", "fifo", {"mode": 0o600}),
        ("x", "file", {"pax": {"SCHILY.xattr.user.note": "hello"}}),
        ("replaced", "dir"), ("replaced", "file", {"data": b"now a file"}),
        ("owned", "dir", {"uid": 1000}), ("owned", "dir", {"uid": 0}),
    ])
    diff_id, size = unpack_bytes(data, dest)
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest() and size == len(data)
    tool = os.stat(dest / "bin/tool")
    assert stat.S_IMODE(tool.st_mode) == 0o4755 and tool.st_uid == 1000
    assert tool.st_nlink == 2 and os.stat(dest / "bin/alias").st_ino == tool.st_ino
    assert os.readlink(dest / "bin/sh") == "/bin/busybox"
    assert os.readlink(dest / "bin/rel") == "../bin/tool"
    assert stat.S_IMODE(os.stat(dest / "tmp").st_mode) == 0o1777
    assert stat.S_ISFIFO(os.lstat(dest / "run/pipe").st_mode)
    assert os.getxattr(dest / "x", "user.note") == b"hello"
    assert (dest / "replaced").read_bytes() == b"now a file"
    assert os.stat(dest / "bin").st_mtime == 1_500_000_000
    assert os.stat(dest / "owned").st_uid == 0  # the later member wins


@pytest.mark.root
def test_whiteouts_and_opaque_dirs_become_overlay_form(box):
    _, dest, _ = box
    data = make_tar([
        ("etc", "dir"),
        ("etc/.wh.hosts", "file", {"data": b""}),
        ("var", "dir"),
        ("var/.wh..wh..opq", "file", {"data": b""}),
        ("var/new", "file"),
        (".wh..wh.plnk", "dir"),
        ("already", "chr", {"dev": (0, 0)}),
    ])
    unpack_bytes(data, dest)
    wh = os.lstat(dest / "etc/hosts")
    assert stat.S_ISCHR(wh.st_mode) and os.major(wh.st_rdev) == 0 and os.minor(wh.st_rdev) == 0
    assert not (dest / "etc/.wh.hosts").exists()
    assert os.getxattr(dest / "var", "trusted.overlay.opaque") == b"y"
    assert not (dest / "var/.wh..wh..opq").exists()
    assert not (dest / ".wh..wh.plnk").exists()
    assert stat.S_ISCHR(os.lstat(dest / "already").st_mode)


@pytest.mark.root
@pytest.mark.parametrize("compress", ["plain", "gzip", "zstd"])
def test_compressed_layers(tmp_path, compress):
    data = make_tar([("hello.txt", "file", {"data": b"hi"})])
    blob = {"plain": data, "gzip": gzip.compress(data),
            "zstd": zstandard.ZstdCompressor().compress(data)}[compress]
    src = tmp_path / "layer.blob"
    src.write_bytes(blob)
    dest = tmp_path / "out"
    dest.mkdir()
    diff_id, _ = unpack_layer(src, dest)
    assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (dest / "hello.txt").read_bytes() == b"hi"


@pytest.mark.root
def test_whiteout_hides_lower_file_in_a_real_overlay_mount(tmp_path):
    """Mount overlayfs in a private mount namespace (unshare -m): gone when the process exits."""
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    upper.mkdir()
    unpack_bytes(make_tar([("etc", "dir"), ("etc/secret", "file"), ("etc/keep", "file"),
                           ("var", "dir"), ("var/old", "file")]), lower)
    unpack_bytes(make_tar([("etc", "dir"), ("etc/.wh.secret", "file", {"data": b""}),
                           ("var", "dir"), ("var/.wh..wh..opq", "file", {"data": b""}),
                           ("var/new", "file")]), upper)
    mnt, work, rw = tmp_path / "mnt", tmp_path / "work", tmp_path / "rw"
    for d in (mnt, work, rw):
        d.mkdir()
    script = (f"mount -t overlay overlay -o lowerdir={upper}:{lower},upperdir={rw},workdir={work} {mnt}"
              f" && ls -A {mnt}/etc && echo --- && ls -A {mnt}/var")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    etc, var = r.stdout.split("---\n")
    assert etc.split() == ["keep"]
    assert var.split() == ["new"]
    assert not any(str(mnt) in line for line in open("/proc/self/mountinfo"))


def test_member_the_filesystem_refuses_is_a_clear_error(box):
    from engine.errors import InvalidArgument

    _, dest, _ = box
    with pytest.raises(InvalidArgument, match="cannot unpack layer member .*File name too long"):
        unpack_bytes(make_tar([("x" * 300, "file")]), dest)


@pytest.mark.root
def test_a_whiteout_hides_only_lower_layers_not_its_own(box):
    """OCI: files present in the same layer as a whiteout are not hidden by it."""
    _, dest, _ = box
    unpack_bytes(make_tar([("d/keep", "file", {"data": b"mine"}), ("d/.wh.keep", "file", {"data": b""}),
                           ("d/.wh.sub", "file", {"data": b""}), ("d/sub/x", "file"),
                           ("d/.wh.lower", "file", {"data": b""})]), dest)
    assert (dest / "d/keep").read_bytes() == b"mine"
    assert (dest / "d/sub/x").is_file()
    assert stat.S_ISCHR(os.lstat(dest / "d/lower").st_mode)
