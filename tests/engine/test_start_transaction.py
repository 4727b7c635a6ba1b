"""A start that fails part-way is undone step by step (engine.supervisor.starter): the container's
cgroup is gone, its network endpoint released and its published port free for another container,
the supervisor keeps no descriptor of its FIFOs, and a second attempt fails the same clean way."""
from __future__ import annotations

import os
import socket

import pytest

from engine.cgroups import open_cgroup
from engine.containers import ContainerStore
from engine.runtime.errors import StartError

pytestmark = pytest.mark.root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _supervisor_fds_into(eng, directory: str) -> list[str]:
    pid = eng.supervisor.running_pid()
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(directory):
            out.append(target)
    return out


def test_a_failed_start_leaves_no_cgroup_lease_port_or_fifo_behind(eng, make):
    port = _free_port()
    body = {"ExposedPorts": {"80/tcp": {}},
            "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}}}
    broken = make(["/no/such/binary"], **body)
    for _ in range(2):  # the undo leaves the container startable-and-failing the same way
        with pytest.raises(StartError, match="no/such/binary"):
            eng.containers.start(broken)
        info = eng.containers.inspect(broken)
        assert not info["State"]["Running"] and info["State"]["ExitCode"] == 127
        assert not open_cgroup(f"pycompose/{broken}").exists()
        assert info["NetworkSettings"]["Ports"] in ({}, {"80/tcp": None})
        assert all(not n.get("IPAddress") for n in info["NetworkSettings"]["Networks"].values())
        assert _supervisor_fds_into(eng, str(ContainerStore(eng.root).dir(broken))) == []
    good = make(["sleep", "300"], **body)  # the port the failed start had taken is free again
    eng.containers.start(good)
    try:
        ports = eng.containers.inspect(good)["NetworkSettings"]["Ports"]
        assert ports["80/tcp"][0]["HostPort"] == str(port)
    finally:
        eng.containers.stop(good, timeout=0)


def _container_children(pid: int) -> set[int]:
    """Children of ``pid`` in a pid namespace other than its own (a container's, not its network worker)."""
    own = os.readlink(f"/proc/{pid}/ns/pid")
    out: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                try:
                    if os.readlink(f"/proc/{child}/ns/pid") != own:
                        out.add(int(child))
                except OSError:
                    pass
    return out


def test_a_cgroup_the_kernel_refuses_leaves_no_process_behind(eng, make):
    """The group is made while the container's process sets up (the fork step): when the kernel
    refuses a limit, that process is killed and reaped before the start fails."""
    broken = make(["sleep", "300"], HostConfig={"CpusetMems": "63"})
    for _ in range(2):
        with pytest.raises(Exception, match="(?i)cpuset|mems|refused"):
            eng.containers.start(broken)
        assert not eng.containers.inspect(broken)["State"]["Running"]
        assert not open_cgroup(f"pycompose/{broken}").exists()
        assert _container_children(eng.supervisor.running_pid()) == set()
