"""Stand-in containers for network tests that run before (or without) the container engine:
a busybox process in its own network and mount namespaces, with the hosts/resolv.conf that
``prepare`` wrote bind-mounted over /etc (only inside its mount namespace). Started and
killed by PID; never anything else.
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time

from engine.network.netns import sockets_in_netns


def record(name: str, network: str | None = "front", aliases=(), ip: str | None = None, ports=None,
           exposed=None, internal_extra=None, mode: str | None = None, dns=None, links=None,
           extra_hosts=None, endpoints: dict | None = None) -> dict:
    """A Docker-shaped container record as the container API stores it."""
    eps = endpoints if endpoints is not None else (
        {network: {"Aliases": list(aliases), **({"IPAMConfig": {"IPv4Address": ip}} if ip else {})}}
        if network else {})
    return {
        "Id": secrets.token_hex(32), "Name": "/" + name,
        "Config": {"Hostname": name, "ExposedPorts": exposed or {}},
        "HostConfig": {"NetworkMode": mode or network or "default", "PortBindings": ports or {},
                       "Dns": dns or [], "Links": links or [], "ExtraHosts": extra_hosts or []},
        "NetworkingConfig": {"EndpointsConfig": eps},
        "State": {"Running": False, "Pid": 0},
    }


def _ns(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return ""


class Box:
    """One sandbox process (pid 1 of nothing: just a sleeping busybox in new net+mount ns)."""

    def __init__(self, hosts_path: str | None = None, resolv_path: str | None = None):
        binds = ""
        if hosts_path:
            binds += f"mount --bind {hosts_path} /etc/hosts && "
        if resolv_path:
            binds += f"mount --bind {resolv_path} /etc/resolv.conf && "
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "busybox", "sh", "-c",
             f"{binds}echo ready && exec busybox sleep 100000"], stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"  # namespaces made, mounts done
        assert _ns(self.pid) != _ns(os.getpid())
        self.children: list[subprocess.Popen] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def run(self, *cmd: str, timeout: float = 15, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["nsenter", "-t", str(self.pid), "-n", "-m", *cmd], capture_output=True,
                              text=True, timeout=timeout, **kw)

    def spawn(self, *cmd: str) -> subprocess.Popen:
        p = subprocess.Popen(["nsenter", "-t", str(self.pid), "-n", "-m", *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.children.append(p)
        return p

    def socket(self, family=socket.AF_INET, type_=socket.SOCK_STREAM) -> socket.socket:
        """A socket living in this box's network namespace (usable from the test process)."""
        return sockets_in_netns(self.pid, [(family, type_, 0)])[0]

    def kill(self) -> None:
        for p in self.children + [self.proc]:
            if p.poll() is None:
                p.kill()
            p.wait()


def wait_listening(box: Box, port: int, proto: str = "tcp") -> None:
    """Block until something listens on ``port`` inside the box (no timing assertion)."""
    flag = "-tln" if proto == "tcp" else "-uln"
    for _ in range(200):
        out = box.run("busybox", "netstat", flag).stdout
        if f":{port} " in out:
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}/{proto} in the box")
