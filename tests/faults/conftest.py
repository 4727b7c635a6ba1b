"""The fault tests' data root fixture (helpers: faultkit.py)."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from faultkit import load_busybox  # noqa: E402


@pytest.fixture
def fault_root():
    """A fresh data root with busybox:latest, its supervisor shut down at the end."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from engine.api import Engine

    root = Path(tempfile.mkdtemp(prefix="pyc-test-fault-", dir="/tmp"))
    try:
        load_busybox(root)
        yield root
    finally:
        Engine(str(root)).shutdown()
        shutil.rmtree(root, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """The soak (tests/faults/test_soak.py, 10 minutes) runs when asked for: ``-m soak`` or
    PYCOMPOSE_SOAK=1 (the runner decides where its time goes); otherwise it is skipped, saying so."""
    if "soak" in (config.getoption("-m") or "") or os.environ.get("PYCOMPOSE_SOAK") == "1":
        return
    skip = pytest.mark.skip(reason="the 10-minute soak runs with -m soak or PYCOMPOSE_SOAK=1")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
