"""Layer tars and docker-diff change lists from real overlayfs upper dirs (root: mounts, mknod).

Each overlay is mounted inside a private mount namespace (``unshare -m``), so nothing is
ever mounted on the host; the upper dir it leaves is what the tests read.
"""
from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from engine.build.layerdiff import changes_from_upper, layer_from_upper
from engine.images.unpack import unpack_layer

pytestmark = pytest.mark.root


def _overlay(tmp: Path, lowers: list[Path], script: str) -> tuple[Path, Path]:
    """Run ``script`` (sh, $M = the merged root) on an overlay of ``lowers`` (top first)."""
    upper, work, merged = tmp / "upper", tmp / "work", tmp / "merged"
    for d in (upper, work, merged):
        d.mkdir(exist_ok=True)
    opts = f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={work}"
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-euc",
                    f'mount -t overlay overlay -o "{opts}" "$M"\n{script}'],
                   check=True, env={**os.environ, "M": str(merged)})
    return upper, merged


def _view(tmp: Path, lowers: list[Path]) -> set[str]:
    """Every path an overlay of ``lowers`` (top first, read-only) shows."""
    m = tmp / "view"
    m.mkdir()
    out = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-euc",
                          f'mount -t overlay overlay -o "lowerdir={":".join(map(str, lowers))}" "{m}"\n'
                          f'cd "{m}" && find . -mindepth 1'], check=True, capture_output=True, text=True)
    return {line[2:] for line in out.stdout.split()}


@pytest.fixture
def lower(tmp_path) -> Path:
    d = tmp_path / "lower"
    (d / "a").mkdir(parents=True)
    (d / "a" / "keep").write_text("keep")
    (d / "a" / "del").write_text("gone soon")
    (d / "dir" / "sub").mkdir(parents=True)
    (d / "dir" / "x").write_text("x")
    (d / "dir" / "sub" / "y").write_text("y")
    (d / "etc").mkdir()
    (d / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    return d


SCRIPT = """
rm "$M/a/del"
rm -rf "$M/dir" && mkdir "$M/dir" && echo z > "$M/dir/z"
echo changed >> "$M/etc/passwd"
mkdir -p "$M/new/deep" && echo data > "$M/new/deep/f" && chown 1000:1001 "$M/new/deep/f"
chmod 4755 "$M/new/deep/f"
ln "$M/new/deep/f" "$M/new/hard"
ln -s /etc/shadow "$M/new/link"
mkfifo "$M/new/fifo"
"""


def test_layer_has_whiteouts_opaque_links_and_metadata(tmp_path, lower):
    upper, _ = _overlay(tmp_path, [lower], SCRIPT)
    out = tmp_path / "layer.tar"
    diff_id, size = layer_from_upper(upper, out)
    assert size == out.stat().st_size and diff_id.startswith("sha256:")
    with tarfile.open(out) as tf:
        members = {m.name: m for m in tf.getmembers()}
    names = list(members)
    assert "a/.wh.del" in members and members["a/.wh.del"].isreg() and members["a/.wh.del"].size == 0
    assert "dir/.wh..wh..opq" in members
    assert names.index("dir/.wh..wh..opq") == names.index("dir") + 1
    assert "dir/z" in members and "dir/x" not in members
    f = members["new/deep/f"]
    assert (f.uid, f.gid, f.mode) == (1000, 1001, 0o4755) and f.uname == "" and f.mtime == int(f.mtime)
    assert members["new/hard"].islnk() and members["new/hard"].linkname == "new/deep/f"
    assert members["new/link"].issym() and members["new/link"].linkname == "/etc/shadow"
    assert members["new/fifo"].isfifo()
    assert names == sorted(names, key=lambda n: n.split("/")), "depth first, sorted"
    with open(out, "rb") as raw:
        assert b"dir/\0" in raw.read(), "directories are named with a trailing slash, as docker writes them"
    assert layer_from_upper(upper, tmp_path / "again.tar") == (diff_id, size), "deterministic"


def test_layer_applies_on_its_lower_like_docker(tmp_path, lower):
    upper, _ = _overlay(tmp_path, [lower], SCRIPT)
    out = tmp_path / "layer.tar"
    diff_id, size = layer_from_upper(upper, out)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    assert unpack_layer(out, unpacked) == (diff_id, size)  # the engine's unpacker accepts it
    seen = _view(tmp_path, [unpacked, lower])
    assert "a/del" not in seen and "a/keep" in seen
    assert {p for p in seen if p.startswith("dir/")} == {"dir/z"}, "the opaque dir hides the old content"
    assert (unpacked / "new" / "deep" / "f").stat().st_mode & 0o7777 == 0o4755
    assert os.readlink(unpacked / "new" / "link") == "/etc/shadow"


def test_capability_xattr_is_kept(tmp_path, lower):
    if subprocess.run(["sh", "-c", "command -v setcap"], capture_output=True).returncode:
        pytest.skip("setcap (libcap2-bin) is not installed")
    upper, _ = _overlay(tmp_path, [lower], 'echo x > "$M/ping" && setcap cap_net_raw+ep "$M/ping"')
    out = tmp_path / "layer.tar"
    layer_from_upper(upper, out)
    with tarfile.open(out) as tf:
        m = tf.getmember("ping")
    assert "SCHILY.xattr.security.capability" in m.pax_headers


def test_changes_like_docker_diff(tmp_path, lower):
    upper, _ = _overlay(tmp_path, [lower], SCRIPT)
    changes = changes_from_upper(upper, [lower])
    assert changes == [
        ("C", "/a"), ("D", "/a/del"),
        ("C", "/dir"), ("D", "/dir/sub"), ("D", "/dir/x"), ("A", "/dir/z"),
        ("C", "/etc"), ("C", "/etc/passwd"),
        ("A", "/new"), ("A", "/new/deep"), ("A", "/new/deep/f"), ("A", "/new/fifo"), ("A", "/new/hard"),
        ("A", "/new/link"),
    ], "docker's tree comparison: an opaque dir is changed, what it hides deleted, parents changed"


def test_whiteout_in_a_lower_hides_from_changes(tmp_path, lower):
    """A path a middle layer deleted counts as absent: re-creating it is an addition."""
    mid = tmp_path / "mid"
    (mid / "a").mkdir(parents=True)
    os.mknod(mid / "a" / "keep", 0o020000, os.makedev(0, 0))
    upper, _ = _overlay(tmp_path, [mid, lower], 'echo again > "$M/a/keep"')
    assert changes_from_upper(upper, [mid, lower]) == [("C", "/a"), ("A", "/a/keep")]


def test_runtime_stubs_are_skipped(tmp_path, lower):
    script = 'touch "$M/etc/hosts" "$M/etc/resolv.conf" && mkdir "$M/proc" && echo 1 > "$M/added"'
    upper, _ = _overlay(tmp_path, [lower], script)
    skip = ("etc/hosts", "etc/resolv.conf", "etc/hostname", "proc")
    assert changes_from_upper(upper, [lower], skip=skip) == [("A", "/added")]
    out = tmp_path / "layer.tar"
    layer_from_upper(upper, out, skip=skip)
    with tarfile.open(out) as tf:
        assert tf.getnames() == ["added"]
