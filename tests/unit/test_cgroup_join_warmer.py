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


def test_the_group_is_looked_up_before_each_write(tmp_path):
    """On a delegated v2 tree the first create moves the service's processes (this one too) into a
    leaf: the warmer must follow it there, never write itself back into the group it started in."""
    first, leaf = tmp_path / "cgroup.procs", tmp_path / "init" / "cgroup.procs"
    leaf.parent.mkdir()
    first.write_text("")
    leaf.write_text("")
    where = [str(first)]
    flag = tmp_path / "moved"

    def own_procs():
        return str(leaf) if flag.exists() else where[0]

    warmer = JoinWarmer(own_procs)
    warmer.keep()
    time.sleep(warm.LINGER / 3)
    flag.write_text("")           # "evacuated": from now on our group is the leaf
    time.sleep(0.05)               # any write resolved before the move has landed
    first.write_text("")
    _wait_done(warmer)
    assert first.read_text() == ""             # nothing written to the old group after the move
    assert _written_pid(leaf) > 0
