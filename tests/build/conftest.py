"""The build tests' fixture (helpers: builder.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from builder import Builder  # noqa: E402


@pytest.fixture
def bld(busybox, session_root, tmp_path):
    """A Builder on the session data root; the images it tagged are removed after the test."""
    from engine.api import Engine

    b = Builder(Engine(str(session_root)), tmp_path)
    yield b
    b.remove_tagged()
