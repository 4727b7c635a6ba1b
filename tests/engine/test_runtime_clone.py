"""Pid 1 cloned straight into its namespaces (engine.runtime.clone, a single-threaded caller) is the
same container as pid 1 forked by the helper (a caller with another thread running): the same
namespaces new, the same capabilities, seccomp mode and no_new_privs, our child either way; and a
caller with threads never takes the clone path (it skips glibc's fork handlers)."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from engine.runtime import clone, start as start_mod
from runtime_helpers import make_spec

pytestmark = pytest.mark.root

NAMESPACES = ("mnt", "uts", "ipc", "net", "pid", "cgroup")
STATUS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "SigBlk", "SigIgn")


def _view(pid: int) -> dict:
    """What the host sees of the container's process: which namespaces are its own, its parent, its
    identity fields of /proc/<pid>/status."""
    own = {ns: os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}") for ns in NAMESPACES}
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in STATUS or key == "PPid":
            status[key] = value.strip()
    return {"new namespaces": own, **status}


def _start_sleeper(layer, cdir: Path) -> tuple[int, dict]:
    null = os.open("/dev/null", os.O_RDWR)
    try:
        pid = start_mod.start(make_spec(layer, cdir, ["sleep", "300"]), (null, null, null))
    finally:
        os.close(null)
    try:
        return pid, _view(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_cloned_and_helper_forked_pid1_are_the_same_container(layer, tmp_path, monkeypatch):
    assert threading.active_count() == 1, "the test needs a single-threaded process"
    cloned = []
    real = clone.fork_into
    monkeypatch.setattr(clone, "fork_into", lambda flags: cloned.append(flags) or real(flags))
    _, direct = _start_sleeper(layer, tmp_path / "direct")
    assert len(cloned) == 1
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        _, helper = _start_sleeper(layer, tmp_path / "helper")
    finally:
        stop.set()
        other.join()
    assert len(cloned) == 1, "a caller with another thread must fork the helper"
    assert direct == helper
    assert direct["PPid"] == str(os.getpid())
    assert all(direct["new namespaces"].values()), direct["new namespaces"]
    assert direct["Seccomp"] == "2"


def test_fork_into_is_fork_with_namespaces():
    r, w = os.pipe()
    pid = clone.fork_into(0x20000000 | 0x00020000)  # CLONE_NEWPID | CLONE_NEWNS
    if pid == 0:
        os.close(r)
        os.write(w, str(os.getpid()).encode())
        os._exit(7)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b"1"  # pid 1 of its own pid namespace
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7
