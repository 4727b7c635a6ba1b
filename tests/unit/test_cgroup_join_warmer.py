"""JoinWarmer (engine.cgroups.warm) has a process write its pid into the group it was given for as
long as a start is expected, then that process ends and is reaped; a tree it cannot write to ends it
for good. Against a plain file standing for cgroup.procs, so no root is needed."""
from __future__ import annotations

import time

import pytest

from engine.cgroups import warm
from engine.cgroups.warm import JoinWarmer


def _wait_done(warmer: JoinWarmer, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while warmer.active and time.monotonic() < deadline:
        time.sleep(0.02)
        warmer.reap_if_done()


def _written_pid(path) -> int:
    return int(path.read_text() or 0)


@pytest.fixture(autouse=True)
def short_linger(monkeypatch):
    monkeypatch.setattr(warm, "LINGER", 0.25)  # the forked process reads it: no 2 s waits here


def test_keeps_writing_its_pid_then_ends(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    warmer = JoinWarmer(str(procs))
    warmer.keep()
    assert warmer.active
    time.sleep(warm.LINGER / 2)
    warmer.keep()  # extends its life: the same process goes on
    _wait_done(warmer)
    assert not warmer.active
    first = _written_pid(procs)
    assert first > 0
    procs.write_text("")
    warmer.keep()  # a later start: a new process
    _wait_done(warmer)
    assert _written_pid(procs) not in (0, first)


def test_close_ends_it_at_once(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    warmer = JoinWarmer(str(procs))
    warmer.keep()
    t0 = time.monotonic()
    warmer.close()
    assert not warmer.active and time.monotonic() - t0 < warm.LINGER


def test_nothing_to_warm_without_a_group():
    warmer = JoinWarmer(None)
    warmer.keep()
    assert not warmer.active


def test_an_unwritable_tree_ends_it_for_good(tmp_path):
    warmer = JoinWarmer(str(tmp_path / "missing" / "cgroup.procs"))
    warmer.keep()
    _wait_done(warmer)
    assert not warmer.active
    warmer.keep()
    assert not warmer.active
