"""engine.supervisor.statewrite: the daemon's state.json writes (no fsync) merge, replace whole files
and leave no temporary file behind; a removed container is NotFound, as with ContainerStore."""
from __future__ import annotations

import os

import pytest

from engine.containers import ContainerStore
from engine.errors import NotFound
from engine.supervisor import statewrite


def test_fields_are_merged_into_the_state_and_read_back_by_the_store(tmp_path):
    store = ContainerStore(str(tmp_path))
    cid = store.create({"Image": "sha256:" + "0" * 64, "Config": {}, "HostConfig": {}})
    st = statewrite.update_state(store, cid, Status="running", Running=True, Pid=42)
    assert st["Status"] == "running" and st["Pid"] == 42 and st["ExitCode"] == 0  # the rest kept
    assert store.state(cid) == st
    statewrite.update_state(store, cid, Status="exited", Running=False, Pid=0, ExitCode=3)
    assert store.state(cid)["ExitCode"] == 3 and store.state(cid)["Status"] == "exited"
    assert sorted(os.listdir(store.dir(cid))) == ["config.json", "state.json"]


def test_a_removed_container_is_not_found_and_nothing_is_written(tmp_path):
    store = ContainerStore(str(tmp_path))
    cid = store.create({"Image": "sha256:" + "0" * 64, "Config": {}, "HostConfig": {}})
    store.delete(cid)
    with pytest.raises(NotFound):
        statewrite.update_state(store, cid, Status="running")
    assert not store.dir(cid).exists()


def test_replace_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        statewrite.replace(target, object())  # type: ignore[arg-type]  # the write itself fails
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["state.json"]
