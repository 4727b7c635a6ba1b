"""Shared fixtures and the end-of-suite leak check.

Root tests run the real kernel paths; each cleans up after itself, and the
session fails when any pycompose kernel object (mount, link, netns, cgroup,
nft table, supervisor process) is left behind that was not there before.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import leaks  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = os.geteuid() == 0
_baseline: set[str] = set()


def pytest_sessionstart(session):
    global _baseline
    _baseline = leaks.snapshot()


def pytest_sessionfinish(session, exitstatus):
    # Stop the session's supervisors first: they are ours, by PID from their pid file.
    for root in _SESSION_ROOTS:
        _stop_supervisor(root)
    _remove_empty_cgroup_parents()
    left = sorted(leaks.snapshot() - _baseline)
    if not left:  # keep the data roots for a post-mortem when something leaked
        for root in _SESSION_ROOTS:
            shutil.rmtree(root, ignore_errors=True)
    if left:
        sys.stderr.write("\nLEAK CHECK FAILED: left behind by the test suite:\n  " + "\n  ".join(left) + "\n")
        session.exitstatus = 1
    else:
        sys.stderr.write("\nleak check: clean\n")


_SESSION_ROOTS: list[Path] = []


def _remove_empty_cgroup_parents() -> None:
    """rmdir the ``pycompose`` parent cgroups once empty, so the machine ends as it began.

    rmdir refuses a cgroup that still has children, so a concurrent user's containers
    are never touched; the engine recreates the parent on its next container."""
    import glob

    for d in leaks.cgroup_parents():
        try:
            os.rmdir(d)
        except OSError:
            pass


def _stop_supervisor(root: Path) -> None:
    """Ask the supervisor of ``root`` to exit (it stops its containers first)."""
    try:
        from engine.api import Engine

        Engine(str(root)).shutdown()
    except Exception:  # noqa: BLE001 - best effort at session end; the leak check reports what stays
        pass


def new_root(prefix: str = "pyc-test-") -> Path:
    """A fresh data root under /tmp, registered so its supervisor is stopped at the end."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    _SESSION_ROOTS.append(root)
    return root


@pytest.fixture(scope="session")
def session_root() -> Path:
    """One data root shared by the root tests of the session (images are unpacked once)."""
    root = new_root()
    yield root
    _stop_supervisor(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox(session_root) -> str:
    """``busybox:latest`` loaded into the session data root by scripts/make-test-image."""
    if not IS_ROOT:
        pytest.skip("needs root")
    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root))
    subprocess.run([str(REPO / "scripts" / "make-test-image")], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return "busybox:latest"


@pytest.fixture
def engine_root(session_root, monkeypatch) -> Path:
    """Point PYCOMPOSE_ROOT at the session data root for this test."""
    monkeypatch.setenv("PYCOMPOSE_ROOT", str(session_root))
    return session_root


def pytest_collection_modifyitems(config, items):
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root (real namespaces, mounts, cgroups)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
