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
