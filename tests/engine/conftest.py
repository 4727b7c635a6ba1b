"""Fixtures shared by the engine's root tests."""
from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from engine.api import Engine
from engine.errors import NotFound

from runtime_helpers import make_busybox_layer


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


@pytest.fixture
def make(eng, made):
    """make(cmd=None, name=None, **body) -> id of a busybox container created through the API
    (``body``: more ContainerCreate fields); removed after the test with the rest of ``made``."""

    def create(cmd=None, name=None, **body) -> str:
        full = {"Image": "busybox", **body}
        if cmd is not None:
            full["Cmd"] = cmd
        cid = eng.containers.create(full, name=name)
        made.append(cid)
        return cid

    return create


@pytest.fixture
def net(eng):
    """A user-defined bridge network (embedded DNS) of this test; removed after its containers."""
    name = f"pyc-net-{secrets.token_hex(4)}"
    eng.networks.create(name)
    yield name
    try:
        eng.networks.remove(name)
    except NotFound:
        pass


@pytest.fixture(scope="module")
def layer():
    """A busybox layer dir for the runtime tests (runtime_helpers), one per test module."""
    d = Path(tempfile.mkdtemp(prefix="pyc-test-layer-"))
    yield make_busybox_layer(d / "layer")
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cdir():
    """A container dir of its own for one runtime test."""
    d = Path(tempfile.mkdtemp(prefix="pyc-test-ctr-"))
    yield d / "c"
    shutil.rmtree(d, ignore_errors=True)
