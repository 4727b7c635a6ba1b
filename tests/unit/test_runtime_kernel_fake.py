"""Container setup code run without root: engine.runtime.kernel.use() routes the kernel calls of
process and rootfs setup to a recording fake (it stands for the kernel only here: these calls would
change the test process itself, or need root), and the tests check what a container would get."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import sys as ksys
from engine.runtime import kernel, process, rootfs
from engine.runtime.errors import StartError
from engine.runtime.spec import ContainerSpec, ProcessSpec


class Recorder:
    """Records every call by name; ``capget`` reports ``available`` as the permitted set."""

    def __init__(self, available: int = (1 << 41) - 1):
        self.calls: list[tuple] = []
        self.available = available

    def capget(self):
        self.calls.append(("capget",))
        return (self.available, self.available, self.available)

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name, *args))
        return call

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def test_identity_drops_privileges_in_docker_s_order():
    fake = Recorder()
    caps = (1 << 0) | (1 << 5)  # CHOWN, KILL
    spec = ProcessSpec(args=["true"], uid=1000, gid=1001, additional_gids=[5, 6], capabilities=caps,
                       no_new_privs=True, seccomp=False)
    with kernel.use(fake):
        process.apply_identity(spec)
    names = [n for n in fake.names() if n != "capbset_drop"]
    assert names == ["capget", "prctl", "setgroups", "setresgid", "setresuid", "prctl", "capset",
                     "clear_ambient_caps", "set_no_new_privs"]
    dropped = {c[1] for c in fake.calls if c[0] == "capbset_drop"}
    assert 0 not in dropped and 5 not in dropped and 1 in dropped and 21 in dropped  # SYS_ADMIN goes
    assert ("setgroups", [5, 6]) in fake.calls
    assert ("setresgid", 1001, 1001, 1001) in fake.calls and ("setresuid", 1000, 1000, 1000) in fake.calls
    assert ("prctl", ksys.PR_SET_KEEPCAPS, 1) in fake.calls and ("capset", caps, caps, 0) in fake.calls


def test_identity_refuses_capabilities_the_host_lacks_before_changing_anything():
    fake = Recorder(available=1)
    spec = ProcessSpec(args=["true"], capabilities=(1 << 21) | 1, seccomp=False)
    with kernel.use(fake), pytest.raises(StartError, match="CAP_SYS_ADMIN"):
        process.apply_identity(spec)
    assert fake.names() == ["capget"]


def test_execute_passes_the_resolved_path_and_environment(tmp_path):
    exe = tmp_path / "bin" / "tool"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    fake = Recorder()
    with kernel.use(fake):
        process.execute(ProcessSpec(args=["tool", "-x"], env=[f"PATH={exe.parent}", "A=b=c"]))
    assert fake.calls == [("execve", str(exe), ["tool", "-x"], {"PATH": str(exe.parent), "A": "b=c"})]


def test_finish_masks_and_makes_read_only_what_exists(tmp_path):
    masked_dir, masked_file, ro = tmp_path / "mdir", tmp_path / "mfile", tmp_path / "ro"
    masked_dir.mkdir()
    masked_file.write_text("")
    ro.mkdir()
    spec = ContainerSpec(id="x" * 64, container_dir=tmp_path, layers=[], process=ProcessSpec(args=["true"]),
                         masked_paths=[str(masked_dir), str(masked_file), str(tmp_path / "missing")],
                         readonly_paths=[str(ro), str(tmp_path / "missing-too")], readonly_rootfs=True)
    fake = Recorder()
    with kernel.use(fake):
        rootfs.finish(spec)
    mounts = [c[1:] for c in fake.calls]
    assert mounts[0] == ("tmpfs", str(masked_dir), "tmpfs", ksys.MS_RDONLY)
    assert mounts[1] == ("/dev/null", str(masked_file), None, ksys.MS_BIND)
    assert mounts[2] == (str(ro), str(ro), None, ksys.MS_BIND | ksys.MS_REC)
    assert mounts[3][:3] == (str(ro), str(ro), None)
    assert mounts[3][3] & (ksys.MS_REMOUNT | ksys.MS_RDONLY) == ksys.MS_REMOUNT | ksys.MS_RDONLY
    assert mounts[4][:3] == (None, "/", None) and mounts[4][3] & ksys.MS_RDONLY
    assert len(mounts) == 5 and {c[0] for c in fake.calls} == {"mount"}


def test_a_privileged_container_keeps_its_paths_unmasked(tmp_path):
    spec = ContainerSpec(id="x" * 64, container_dir=tmp_path, layers=[], process=ProcessSpec(args=["true"]),
                         masked_paths=[str(tmp_path)], readonly_paths=[str(tmp_path)], privileged=True)
    fake = Recorder()
    with kernel.use(fake):
        rootfs.finish(spec)
    assert fake.calls == []


def test_use_puts_the_real_kernel_back():
    real = kernel.current()
    with kernel.use(Recorder()):
        assert kernel.current() is not real
    assert kernel.current() is real and real.mount is ksys.mount
