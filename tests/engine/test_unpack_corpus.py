"""The malicious-layer corpus, 200+ cases built from families: names with ``..`` or absolute,
symlinks that escape (directly, chained, through ``/..``, written through later), hard links
out of the layer or to what must not be linked, device nodes, setuid files, huge sizes and
names, duplicate entries that swap a directory for a link, and whiteout tricks.

Each case is "refused" (UnsafeContent or InvalidArgument) or "contained" (legitimate in a
layer, e.g. a setuid binary or a later entry replacing an earlier one: unpacked, and checked).
Either way nothing outside the layer directory changes: the sentinel beside it keeps its
content and link count, and no file appears in /etc."""
from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from engine.errors import InvalidArgument, UnsafeContent
from test_unpack import make_box, make_tar, outside_listing, unpack_bytes
from test_unpack_fuzz import escapes

pytestmark = pytest.mark.root
S = "/SENTINEL"  # replaced by the sentinel directory's absolute path in each case

# absolute targets are read from the layer's root (as inside the container): a link may hold them
ABSOLUTE_TARGETS = ["/", "/etc", S, "//etc", "/etc/passwd", "/proc/1/root"]
THROUGH_TARGETS = ["/", "/etc", S, "..", "../..", "/..", "d", "."]  # a parent that is a link at all


def climbing_targets(depth: int) -> list[str]:
    """Targets that climb above the layer root from a link ``depth`` directories down."""
    up = "../" * (depth + 1)
    return [up, up + "sentinel", up + "../..", "/..", "/../../sentinel", "a/../" + up, "./" + up, "../" * 12]


NAME_PREFIXES = ["../", "../../", "../../../", "a/../../", "/", "//", "./../", "a/b/../../../", "./././../",
                 "a/./../../"]
DEVICES = [("chr", (1, 3)), ("chr", (1, 5)), ("chr", (1, 8)), ("chr", (4, 1)), ("chr", (5, 0)),
           ("chr", (10, 200)), ("chr", (0, 1)), ("chr", (1, 0)), ("chr", (136, 0)), ("blk", (8, 0)),
           ("blk", (7, 0)), ("blk", (0, 0)), ("blk", (253, 0)), ("blk", (1, 0))]


def _cases() -> dict[str, tuple[str, list]]:
    c: dict[str, tuple[str, list]] = {}
    for i, pre in enumerate(NAME_PREFIXES):                               # names that leave the layer
        for kind in ("file", "dir", "sym", "fifo"):
            extra = {"target": "x"} if kind == "sym" else {}
            c[f"name-{i}-{kind}"] = ("refused", [(pre + "sentinel/x", kind, extra)])
    for where in ("l", "d/l", "d/e/l"):                                   # symlinks that climb out
        for i, t in enumerate(climbing_targets(where.count("/"))):
            c[f"symlink-climb-{i}-{where.replace('/', '_')}"] = ("refused", [("d/e", "dir"),
                                                                              (where, "sym", {"target": t})])
        for i, t in enumerate(ABSOLUTE_TARGETS):                          # absolute: the layer's own root
            c[f"symlink-absolute-{i}-{where.replace('/', '_')}"] = ("contained", [("d/e", "dir"),
                                                                                   (where, "sym", {"target": t})])
    for i, t in enumerate(THROUGH_TARGETS):                               # ... then written through
        for kind in ("file", "dir", "sym", "link"):
            extra = {"target": "f"} if kind in ("sym", "link") else {}
            c[f"through-{i}-{kind}"] = ("refused", [("f", "file"), ("l", "sym", {"target": t}),
                                                    ("l/x", kind, extra)])
    chains = {  # each link stays inside alone; together they climb out
        "chain-dotdot": [("d", "dir"), ("d/l1", "sym", {"target": ".."}), ("d/l2", "sym", {"target": "l1/.."})],
        "chain-late": [("d", "dir"), ("b", "sym", {"target": "d/a/.."}), ("d/a", "sym", {"target": ".."})],
        "chain-abs": [("d", "dir"), ("d/a", "sym", {"target": "/d"}), ("x", "sym", {"target": "d/a/../.."})],
        "chain-three": [("a", "sym", {"target": "b"}), ("b", "sym", {"target": "c"}), ("c", "sym", {"target": ".."})],
        "chain-replaced": [("d", "dir"), ("l", "sym", {"target": "d/.."}), ("d", "sym", {"target": "/.."})],
    }
    for k, v in chains.items():
        c[k] = ("refused", v)
    hard = ["/etc/passwd", "../../../sentinel/f", S + "/f", "..", "/", ".", "nothere", "s/f", "d", "w",
            "/proc/self/exe", "sub/../../f"]
    for i, t in enumerate(hard):                                          # hard links
        for name in ("h", "sub/h"):
            c[f"hardlink-{i}-{name.replace('/', '_')}"] = ("refused", [
                ("d", "dir"), ("sub", "dir"), ("w", "chr", {"dev": (0, 0)}), ("s", "sym", {"target": "d"}),
                (name, "link", {"target": t})])
    for kind, dev in DEVICES:                                             # device nodes
        if (kind, dev) != ("chr", (0, 0)):
            c[f"device-{kind}-{dev[0]}-{dev[1]}"] = ("refused", [(f"dev/{kind}{dev[0]}_{dev[1]}", kind, {"dev": dev})])
            c[f"device-over-file-{kind}-{dev[0]}-{dev[1]}"] = ("refused", [
                ("etc/passwd", "file"), ("etc/passwd", kind, {"dev": dev})])
    c.update({                                                            # setuid
        "setuid-root-binary": ("contained", [("bin", "dir"), ("bin/su", "file", {"mode": 0o4755})]),
        "setgid-dir": ("contained", [("var/mail", "dir", {"mode": 0o2775})]),
        "setuid-sticky-all": ("contained", [("x", "file", {"mode": 0o7777})]),
        "setuid-through-symlink": ("refused", [("b", "sym", {"target": "/usr/bin"}), ("b/evil", "file", {"mode": 0o4755})]),
        "setuid-hardlink-host": ("refused", [("su", "link", {"target": "/usr/bin/su", "mode": 0o4755})]),
        "setuid-outside": ("refused", [("../../sentinel/su", "file", {"mode": 0o4755})]),
        "setuid-other-owner": ("contained", [("bin/sudo", "file", {"mode": 0o4711, "uid": 1000})]),
        "setuid-duplicate-keeps-last": ("contained", [("f", "file", {"mode": 0o4755}), ("f", "file", {"mode": 0o644})]),
    })
    c.update({                                                            # duplicates
        "dup-dir-then-link-then-file": ("refused", [("d", "dir"), ("d", "sym", {"target": "/"}), ("d/x", "file")]),
        "dup-file-then-escaping-link": ("refused", [("f", "file"), ("f", "sym", {"target": "../../sentinel"})]),
        "dup-link-inside-then-out": ("refused", [("d", "dir"), ("x", "sym", {"target": "d"}),
                                                 ("x", "sym", {"target": "../.."})]),
        "dup-dir-becomes-link-used-later": ("refused", [("d/e", "dir"), ("d", "sym", {"target": ".."}),
                                                        ("d/e/f", "file")]),
        "dup-file-file": ("contained", [("f", "file"), ("f", "file", {"data": b"second"})]),
        "dup-dir-file": ("contained", [("d/x", "file"), ("d", "file")]),
        "dup-file-dir": ("refused", [("d", "file"), ("d/x", "file")]),
        "dup-link-self": ("contained", [("f", "file"), ("f", "link", {"target": "f"})]),
        "dup-sym-to-sym": ("contained", [("a", "sym", {"target": "b"}), ("a", "sym", {"target": "c"})]),
        "dup-dir-dir-mode": ("contained", [("d", "dir", {"mode": 0o700}), ("d", "dir", {"mode": 0o755})]),
        "dup-fifo-over-file": ("contained", [("p", "file"), ("p", "fifo")]),
        "dup-hardlink-retarget": ("refused", [("f", "file"), ("h", "link", {"target": "f"}),
                                              ("h", "link", {"target": "/etc/shadow"})]),
    })
    c.update({                                                            # whiteouts
        "wh-dotdot": ("refused", [(".wh...", "file")]),
        "wh-empty": ("refused", [(".wh.", "file")]),
        "wh-dot": ("refused", [(".wh..", "file")]),
        "wh-parent-escape": ("refused", [("../../.wh.sentinel", "file")]),
        "wh-through-escaping-link": ("refused", [("l", "sym", {"target": "/"}), ("l/.wh.etc", "file")]),
        "wh-through-inside-link": ("refused", [("d", "dir"), ("l", "sym", {"target": "d"}), ("l/.wh.x", "file")]),
        "opq-through-link": ("refused", [("l", "sym", {"target": S}), ("l/.wh..wh..opq", "file")]),
        "wh-absolute": ("refused", [("/.wh.etc", "file")]),
        "wh-device-hardlink": ("refused", [(".wh.x", "file"), ("h", "link", {"target": "x"})]),
        "wh-plain": ("contained", [(".wh.gone", "file")]),
        "wh-opaque-dir": ("contained", [("d", "dir"), ("d/.wh..wh..opq", "file")]),
        "wh-aufs-link": ("contained", [(".wh..wh.plnk/1.2", "file")]),
        "wh-then-recreate": ("contained", [("x/.wh.y", "file"), ("x/y", "file")]),
        "wh-own-file": ("contained", [("f", "file"), (".wh.f", "file")]),
        "wh-dir-then-files": ("contained", [(".wh.d", "file"), ("d/x", "file")]),
    })
    return c


def _raw_cases() -> dict[str, tuple[str, bytes]]:
    """Cases tarfile's writer cannot express directly: huge sizes and names, header tricks."""
    out: dict[str, tuple[str, bytes]] = {}
    for i, size in enumerate((1 << 33, 1 << 40, (1 << 63) - 1, 10 ** 12)):
        ti = tarfile.TarInfo("big")
        ti.size = size
        buf = ti.tobuf(tarfile.PAX_FORMAT) + b"x" * 1024  # far less data than the header claims
        out[f"huge-size-{i}"] = ("refused", buf)
    out["huge-name"] = ("refused", make_tar([("a" * 5000, "file")]))
    out["huge-component"] = ("refused", make_tar([("d/" + "b" * 300, "file")]))
    out["pax-path-dotdot"] = ("refused", make_tar([("ok", "file", {"pax": {"path": "../../sentinel/x"}})]))
    out["pax-linkpath-escape"] = ("refused", make_tar([("l", "sym", {"target": "ok", "pax": {"linkpath": "../../../x"}})]))
    out["gnu-longname-dotdot"] = ("refused", make_tar([("a/" * 60 + "../" * 70 + "x", "file")], fmt=tarfile.GNU_FORMAT))
    out["gnu-longlink-escape"] = ("refused", make_tar([("l", "sym", {"target": "../" * 60})], fmt=tarfile.GNU_FORMAT))
    out["not-a-tar"] = ("refused", b"\x00garbage" * 200)
    out["truncated-header"] = ("refused", make_tar([("f", "file")])[:300])
    out["bad-checksum"] = ("refused", b"f".ljust(148, b"\0") + b"99999999" + b"\0" * 356 + b"\0" * 1024)
    return out


CASES = _cases()
RAW = _raw_cases()
IDS = sorted(CASES) + sorted(RAW)


def _bytes_of(case: str, sentinel: Path) -> tuple[str, bytes]:
    if case in RAW:
        return RAW[case]
    expect, entries = CASES[case]
    fixed = []
    for e in entries:
        opts = dict(e[2]) if len(e) > 2 else {}
        if "target" in opts:
            opts["target"] = opts["target"].replace(S, str(sentinel))
        fixed.append((e[0].replace(S, str(sentinel)), e[1], opts))
    return expect, make_tar(fixed)


def test_the_corpus_has_200_cases():
    assert len(IDS) >= 200, len(IDS)


@pytest.mark.parametrize("case", IDS)
def test_malicious_layer(tmp_path, case):
    dest, sentinel = make_box(tmp_path)
    before = outside_listing(tmp_path, dest)
    etc_before = set(os.listdir("/etc"))
    expect, data = _bytes_of(case, sentinel)
    if expect == "refused":
        with pytest.raises((UnsafeContent, InvalidArgument)):
            unpack_bytes(data, dest)
    else:
        unpack_bytes(data, dest)
        for p in dest.rglob("*"):
            st = os.lstat(p)
            assert not (stat.S_ISBLK(st.st_mode) or (stat.S_ISCHR(st.st_mode) and st.st_rdev != 0)), p
            if p.is_symlink():
                assert not escapes(dest, p), (p, os.readlink(p))
    assert outside_listing(tmp_path, dest) == before
    assert (sentinel / "f").read_text() == "original" and os.stat(sentinel / "f").st_nlink == 1
    assert set(os.listdir("/etc")) == etc_before
    assert os.stat("/etc/passwd").st_nlink == 1


def test_contained_cases_keep_what_a_layer_may_hold(tmp_path):
    """Setuid bits and owners survive (a layer's /bin/su must stay setuid), whiteouts are overlay's."""
    def unpack(case):
        d = tmp_path / case
        d.mkdir()
        unpack_bytes(_bytes_of(case, tmp_path)[1], d)
        return d
    d = unpack("setuid-root-binary")
    assert stat.S_IMODE(os.stat(d / "bin/su").st_mode) == 0o4755
    d = unpack("setuid-other-owner")
    st = os.stat(d / "bin/sudo")
    assert stat.S_IMODE(st.st_mode) == 0o4711 and st.st_uid == 1000
    d = unpack("setuid-duplicate-keeps-last")
    assert stat.S_IMODE(os.stat(d / "f").st_mode) == 0o644
    d = unpack("wh-plain")
    st = os.lstat(d / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    d = unpack("dup-file-file")
    assert (d / "f").read_bytes() == b"second"
