"""Data root: atomic writes and locks keep concurrent commands consistent."""
import json
import multiprocessing as mp

from engine.state import DataRoot, atomic_write, read_json, write_json


def _bump(root: str, n: int) -> None:
    dr = DataRoot(root)
    for _ in range(n):
        with dr.lock("counter"):
            path = dr.dir("run") / "counter.json"
            value = read_json(path, {"n": 0})["n"]
            write_json(path, {"n": value + 1})


def test_locked_read_modify_write_from_four_processes_loses_nothing(tmp_path):
    procs = [mp.Process(target=_bump, args=(str(tmp_path), 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert read_json(tmp_path / "run" / "counter.json") == {"n": 200}


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "x.json"
    atomic_write(target, json.dumps({"a": 1}))
    atomic_write(target, json.dumps({"a": 2}))
    assert read_json(target) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_atomic_write_gives_the_mode_asked_and_never_follows_a_planted_link(tmp_path, monkeypatch):
    """The temp file is made O_EXCL beside the target (as tempfile.mkstemp did): a name already
    taken, even by a symlink, is skipped for another, never written through."""
    import os

    from engine import state

    target = tmp_path / "x.json"
    elsewhere = tmp_path / "elsewhere"
    names = iter([b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    os.symlink(elsewhere, tmp_path / f".x.json.{'00' * 6}.tmp")
    state.atomic_write(target, "data", mode=0o640)
    assert target.read_text() == "data" and (target.stat().st_mode & 0o777) == 0o640
    assert not elsewhere.exists()


def test_read_json_default_when_missing(tmp_path):
    assert read_json(tmp_path / "nope.json", default=[]) == []


def test_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PYCOMPOSE_ROOT", str(tmp_path))
    assert DataRoot().path == tmp_path
