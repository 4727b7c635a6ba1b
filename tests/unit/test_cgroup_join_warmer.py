"""JoinWarmer (engine.cgroups.warm) writes our pid into the group it was given for as long as a start
is expected, then its thread ends; a tree it cannot write to ends it for good. Against a plain file
standing for cgroup.procs, so no root is needed."""
from __future__ import annotations

import os
import time

from engine.cgroups.warm import JoinWarmer


def _wait_idle(warmer: JoinWarmer, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while warmer.active and time.monotonic() < deadline:
        time.sleep(0.01)


def test_keeps_writing_our_pid_then_stops(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    warmer = JoinWarmer(str(procs))
    warmer.keep(0.05)
    assert warmer.active
    _wait_idle(warmer)
    assert not warmer.active
    assert procs.read_text() == str(os.getpid())
    procs.write_text("")
    warmer.keep(0.05)  # a later start: a new thread
    _wait_idle(warmer)
    assert procs.read_text() == str(os.getpid())


def test_nothing_to_warm_without_a_group():
    warmer = JoinWarmer(None)
    warmer.keep()
    assert not warmer.active


def test_an_unwritable_tree_ends_it(tmp_path):
    warmer = JoinWarmer(str(tmp_path / "missing" / "cgroup.procs"))
    warmer.keep(10)
    _wait_idle(warmer)
    assert not warmer.active
    warmer.keep(10)
    assert not warmer.active
