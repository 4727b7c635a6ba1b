"""Shared helpers for the supervisor, health, restart and log tests (real containers from busybox;
``eng`` and ``make`` come from tests/engine/conftest.py)."""
from __future__ import annotations

import threading
import time

import pytest

from engine.api import Engine


def collect_events(eng: Engine, cid: str, until_action, since_ns: int) -> list[dict]:
    """Events of ``cid`` since ``since_ns`` up to and including the first whose Action satisfies
    ``until_action`` (a callable); pushed by the supervisor, no polling."""
    out = []
    for ev in eng.events(filters={"container": [cid]}, since=since_ns / 1e9):
        out.append(ev)
        if until_action(ev["Action"]):
            break
    return out


def wait_for_action(eng: Engine, cid: str, pred, since_ns: int, timeout: float = 60.0) -> list[dict]:
    """collect_events in a thread, bounded so a missing event fails the test instead of hanging."""
    result: list = []

    def run():
        result.append(collect_events(eng, cid, pred, since_ns))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if not result:
        raise AssertionError(f"no matching event for {cid[:12]} within {timeout}s")
    return result[0]


def now_ns() -> int:
    return time.time_ns()


@pytest.fixture
def own_root(busybox):
    """A data root of its own (its supervisor is killed in the test); shut down and removed after."""
    import os
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    root = Path(tempfile.mkdtemp(prefix="pyc-test-sup-", dir="/tmp"))
    try:
        subprocess.run([str(repo / "scripts" / "make-test-image")], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, PYCOMPOSE_ROOT=str(root)))
        yield root
    finally:
        Engine(str(root)).shutdown()
        shutil.rmtree(root, ignore_errors=True)
