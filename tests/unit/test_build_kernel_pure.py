"""Pure pieces of the build kernel: the layer tar headers, docker attach's detach keys, commit's flags."""
from __future__ import annotations

import io
import tarfile

import pytest

from engine.attachto import DetachMatcher, parse_detach_keys
from engine.build.tarwrite import TarOut, fast_header
from engine.cli.container_changes import _go_bool_positionals
from engine.errors import InvalidArgument


def _ti(name, kind=tarfile.REGTYPE, **kw):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.uname, ti.gname = kind, 0o644, 0, 0, 1700000000, "", ""
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


SIMPLE = [
    _ti("etc/", tarfile.DIRTYPE, mode=0o755),
    _ti("etc", tarfile.DIRTYPE, mode=0o1777),
    _ti("etc/passwd", size=1234, uid=1000, gid=1001, mode=0o4755),
    _ti("bin/sh", tarfile.SYMTYPE, linkname="/bin/busybox", mode=0o777),
    _ti("bin/ls", tarfile.LNKTYPE, linkname="bin/busybox"),
    _ti("run/fifo", tarfile.FIFOTYPE),
    _ti("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
    _ti("a" * 100),
    _ti("etc/.wh.group", mode=0),
]


@pytest.mark.parametrize("ti", SIMPLE, ids=lambda t: t.name[:20])
def test_fast_header_is_the_header_tarfile_writes(ti):
    assert fast_header(ti) == ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


@pytest.mark.parametrize("ti", [
    _ti("a" * 101), _ti("caf\u00e9"), _ti("x", tarfile.SYMTYPE, linkname="l" * 101),
    _ti("x", pax_headers={"SCHILY.xattr.security.capability": "\x01"}), _ti("x", uid=8 ** 7),
    _ti("x", size=8 ** 11), _ti("x", mtime=1.5),
], ids=["long", "utf8", "longlink", "xattr", "uid", "size", "float-mtime"])
def test_members_needing_pax_records_take_tarfiles_path(ti):
    assert fast_header(ti) is None


def test_tarout_writes_a_tar_that_tarfile_reads_back_identically():
    import os

    r, w = os.pipe()
    os.write(w, b"hello world")
    os.close(w)
    raw = io.BytesIO()
    out = TarOut(raw)
    out.add(_ti("d", tarfile.DIRTYPE, mode=0o755))
    out.add(_ti("d/f", size=11), r)
    out.add(_ti("d/\u00e9t\u00e9", size=3), None)  # no fd: zero-filled, like a file that shrank
    digest, size = out.close()
    os.close(r)
    data = raw.getvalue()
    assert size == len(data) and size % tarfile.RECORDSIZE == 0
    import hashlib

    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        got = [(m.name, m.size) for m in tf]
        assert got == [("d", 0), ("d/f", 11), ("d/\u00e9t\u00e9", 3)]
        assert tf.extractfile("d/f").read() == b"hello world"
        assert tf.extractfile("d/\u00e9t\u00e9").read() == b"\0\0\0"


def test_detach_keys_parse_like_docker():
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == bytes([0, 27, 28, 29, 30, 31])
    assert parse_detach_keys("a,ctrl-A") == b"a\x01"
    for bad in ("ctrl-1", "ctrl-pp", "", "ab", "ctrl-"):
        with pytest.raises(InvalidArgument, match=r"Invalid detach keys \(.*\) provided"):
            parse_detach_keys(bad)


def test_detach_matcher_holds_a_partial_sequence_and_releases_it():
    m = DetachMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)
    assert m.feed(b"c") == (b"\x10c", False), "a broken sequence is passed on"
    assert m.feed(b"\x10\x10") == (b"\x10", False)
    assert m.feed(b"\x11rest") == (b"", True)
    one = DetachMatcher(b"q")
    assert one.feed(b"xyq") == (b"xy", True)


def test_commit_pause_flag_is_a_go_bool():
    assert _go_bool_positionals(True, ["c", None]) == (True, ["c", None])
    assert _go_bool_positionals("false", ["c", "repo"]) == (False, ["c", "repo"])
    assert _go_bool_positionals("c", [None, None]) == (True, ["c"]), "-p c: c is the container"
    assert _go_bool_positionals("c", ["repo:tag", None]) == (True, ["c", "repo:tag"])
