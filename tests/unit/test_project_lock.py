"""Engine.lock / DataRoot.exclusive: one holder at a time, the waiter told who holds it, and the
lock gone with its holder even when the holder is SIGKILLed (compose's per-project lock)."""
from __future__ import annotations

import os
import signal
import time

import pytest

from engine.api import Engine
from engine.errors import InvalidArgument
from engine.state import DataRoot


def _hold_in_child(root, name: str) -> tuple[int, int]:
    """Fork a child that takes the lock and then waits; returns (pid, fd telling it holds it)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        with DataRoot(root).exclusive(name):
            os.write(w, b"x")
            time.sleep(60)
        os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    return pid, r


def test_waiter_is_told_the_holder_and_gets_the_lock_when_it_is_killed(tmp_path):
    pid, r = _hold_in_child(tmp_path, "project-demo")
    told = []

    def busy(holder):
        told.append(holder)
        os.kill(pid, signal.SIGKILL)  # the holder dies without releasing anything

    with DataRoot(tmp_path).exclusive("project-demo", on_busy=busy):
        assert told == [pid]
        assert (tmp_path / "locks" / "project-demo.lock").read_text().strip() == str(os.getpid())
    os.waitpid(pid, 0)
    os.close(r)


def test_free_lock_is_taken_without_waiting(tmp_path):
    told = []
    with Engine(str(tmp_path)).lock("project-free", on_busy=told.append):
        pass
    assert told == []


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-x", "x" * 300, 5])
def test_lock_names_stay_in_the_locks_directory(tmp_path, name):
    with pytest.raises(InvalidArgument):
        Engine(str(tmp_path)).lock(name)
