"""A build on a real distribution (root): debian:bookworm from debootstrap, apt-get through the build network.

``scripts/make-debian-image`` bootstraps the rootfs once (cached under
/var/cache/pycompose-test) and imports it; the build's ``RUN apt-get`` reaches the Debian
mirror through the default build network (a bridge with outbound NAT). Skipped, with the
reason, only when the mirror cannot be reached.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.api import Engine

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[2]
OFFLINE = 3


@pytest.fixture(scope="module")
def debian(session_root):
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    r = subprocess.run([str(REPO / "scripts" / "make-debian-image")], env=env, capture_output=True, text=True,
                       timeout=1800)
    if r.returncode == OFFLINE:
        pytest.skip(f"Debian mirror not reachable: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    return "debian:bookworm"


def test_apt_get_install_in_a_build(debian, session_root, tmp_path):
    eng = Engine(str(session_root))
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*\n"
        'CMD ["hello"]\n')
    events: list[dict] = []
    try:
        iid = eng.images.build(str(tmp_path), tags=["pyc-build-debian:1"], progress=events.append)
        out = b"".join(e["log"] for e in events if "log" in e).decode()
        assert "Setting up hello" in out
        env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
        r = subprocess.run([sys.executable, "-m", "compose.cli.main", "container", "run", "--rm", "--network", "none",
                            "pyc-build-debian:1"], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert r.stdout == "Hello, world!\n", r.stderr
        assert eng.images.inspect(iid)["Config"]["Cmd"] == ["hello"]
    finally:
        if eng.images.exists("pyc-build-debian:1"):
            eng.images.remove("pyc-build-debian:1", force=True)
