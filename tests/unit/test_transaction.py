"""engine.transaction: the undo order a failed container start relies on."""
from __future__ import annotations

import pytest

from engine.transaction import Transaction


def test_success_keeps_every_step_and_runs_no_undo():
    done = []
    with Transaction() as txn:
        assert txn.step(lambda: "a", lambda r: done.append(("undo", r))) == "a"
        txn.on_undo(lambda: done.append("undo b"))
    assert done == []


def test_failure_undoes_the_steps_taken_newest_first_and_reraises():
    done = []
    with pytest.raises(RuntimeError, match="third"):
        with Transaction() as txn:
            txn.step(lambda: 1, lambda r: done.append(f"undo {r}"))
            txn.on_undo(lambda: done.append("undo 2"))
            txn.step(lambda: (_ for _ in ()).throw(RuntimeError("third")), lambda r: done.append("never"))
    assert done == ["undo 2", "undo 1"]


def test_a_failing_undo_does_not_stop_the_others():
    done = []

    def broken():
        raise OSError("gone")

    with pytest.raises(ValueError):
        with Transaction() as txn:
            txn.on_undo(lambda: done.append("first"))
            txn.on_undo(broken)
            txn.on_undo(lambda: done.append("last"))
            raise ValueError("step failed")
    assert done == ["last", "first"]


def test_keyboard_interrupt_rolls_back_too():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with Transaction() as txn:
            txn.on_undo(lambda: done.append("undone"))
            raise KeyboardInterrupt
    assert done == ["undone"]
