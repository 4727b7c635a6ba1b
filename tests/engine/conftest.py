"""Fixtures shared by the engine's root tests."""
from __future__ import annotations

import pytest

from engine.api import Engine
from engine.errors import NotFound


@pytest.fixture
def eng(busybox, session_root):
    """The engine of the session data root, with busybox:latest loaded."""
    return Engine(str(session_root))


@pytest.fixture
def made(eng):
    """Append container ids here; they are force-removed (with volumes) after the test."""
    ids: list[str] = []
    yield ids
    for cid in ids:
        try:
            eng.containers.remove(cid, force=True, volumes=True)
        except NotFound:
            pass
