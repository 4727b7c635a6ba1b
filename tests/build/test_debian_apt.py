"""A RUN step on a real distribution: debian:bookworm (debootstrap, cached in /var/cache/pycompose-test)
and `apt-get install` reaching the Debian mirror through the build network (root).

Skipped, with the reason printed, only when the mirror cannot be reached (nothing else is
allowed out of this machine; the package mirror is).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from engine.build.layerdiff import layer_from_upper
from engine.build.runner import run_step
from engine.images import ImageStore
from engine.state import DataRoot

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[2]
OFFLINE = 3  # scripts/make-debian-image: the mirror cannot be reached and nothing is cached


@pytest.fixture(scope="module")
def debian(session_root) -> list[Path]:
    """debian:bookworm in the session root; its layer dirs, top first."""
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    r = subprocess.run([str(REPO / "scripts" / "make-debian-image")], env=env, capture_output=True, text=True)
    if r.returncode == OFFLINE:
        sys.stderr.write(f"\nskipping the debian tests: {r.stderr.strip()}\n")
        pytest.skip(f"Debian mirror unreachable: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr[-2000:]
    return list(reversed(ImageStore(DataRoot(session_root)).get("debian:bookworm").layer_dirs()))


def _mirror_problem() -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen("http://deb.debian.org/debian/dists/bookworm/Release", timeout=20) as r:
            r.read(64)
    except OSError as e:
        return f"http://deb.debian.org cannot be reached: {e}"
    return None


def test_apt_get_install_through_the_build_network(debian, session_root, tmp_path):
    why = _mirror_problem()
    if why:
        sys.stderr.write(f"\nskipping: {why}\n")
        pytest.skip(why)
    out: list[bytes] = []
    upper = tmp_path / "s1" / "upper"
    code = run_step(DataRoot(session_root), debian, upper, tmp_path / "s1" / "work",
                    ["/bin/sh", "-c", "apt-get update && apt-get install -y --no-install-recommends hello "
                                      "&& rm -rf /var/lib/apt/lists/*"],
                    ["DEBIAN_FRONTEND=noninteractive"], "/", "", [], "default", [], None, out.append)
    text = b"".join(out).decode(errors="replace")
    assert code == 0, text[-3000:]
    assert "Setting up hello" in text
    assert (upper / "usr" / "bin" / "hello").is_file()
    assert not (upper / "etc" / "resolv.conf").exists(), "the resolv.conf mount point is not in the layer"
    tar = tmp_path / "layer.tar"
    layer_from_upper(upper, tar)
    with tarfile.open(tar) as tf:
        names = set(tf.getnames())
    assert "usr/bin/hello" in names and "var/lib/dpkg/status" in names
    out.clear()
    code = run_step(DataRoot(session_root), [upper] + debian, tmp_path / "s2" / "upper", tmp_path / "s2" / "work",
                    ["hello"], [], "/", "", [], "none", [], None, out.append)
    assert (code, b"".join(out)) == (0, b"Hello, world!\n")
