"""The machine "rebooted" under a running project: every process of the data root gone (the
supervisor and each container SIGKILLed), the kernel objects a reboot takes with it removed
(veths, bridges, the root's nft table, cgroups), the state on disk kept as it was, pid file and
socket included. Then ``ps -a`` tells the truth (exited, with the codes the kernel gave, the
restart-always service running again), ``up -d`` brings the project back, and ``down -v``
leaves nothing."""
from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import time

import pytest

from faultkit import Inventory, Project
from processes import is_zombie, wait_exit

pytestmark = pytest.mark.root

PROJECT = """
networks:
  front: {}
volumes:
  data: {}
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo up > /data/up; exec sleep 3600"]
    stop_signal: SIGKILL
    networks: [front]
    volumes: ["data:/data"]
    ports: ["127.0.0.1::80"]
    healthcheck: {test: ["CMD", "test", "-e", "/data/up"], interval: 1s, start_period: 5s, start_interval: 100ms}
  worker:
    image: busybox
    command: ["sh", "-c", "exec sleep 3600"]
    stop_signal: SIGKILL
    restart: always
    networks: [front]
    depends_on: {web: {condition: service_healthy}}
  oneshot:
    image: busybox
    command: ["sh", "-c", "exit 3"]
    networks: [front]
"""


def reboot(p: Project, inv: Inventory) -> dict[str, bool]:
    """Kill every process of the root and remove what a reboot removes; keep the files.
    Returns, per container id that was running, whether its process is left as a zombie
    (then its exit status is still readable; after a real reboot it never is)."""
    from engine.cgroups import container_cgroup
    from engine.network import names
    from engine.network.nft import table_name

    inv.note()
    sup = int((p.root / "run" / "supervisor.pid").read_text())
    os.kill(sup, signal.SIGKILL)
    wait_exit(sup)
    running: dict[str, bool] = {}
    for cid in inv.cids:
        cg = container_cgroup(cid)
        if not cg.exists():
            continue
        pids = cg.pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            wait_exit(pid)
        state = json.loads((p.root / "containers" / cid / "state.json").read_text())
        running[cid] = is_zombie(int(state.get("Pid") or 0))
        cg.destroy()
    # the kernel deletes a veth by itself once its netns is gone (asynchronously): delete what is
    # still there, and require only that none is left afterwards, as after a real reboot
    gone = [names.veth_name(nid, cid) for nid in inv.nets for cid in inv.cids] + \
        [names.bridge_name(nid) for nid in inv.nets]
    for link in gone:
        if os.path.exists(f"/sys/class/net/{link}"):
            subprocess.run(["ip", "link", "del", link], capture_output=True)
    deadline = time.monotonic() + 10
    while [link for link in gone if os.path.exists(f"/sys/class/net/{link}")] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [link for link in gone if os.path.exists(f"/sys/class/net/{link}")]
    subprocess.run(["nft", "delete", "table", "ip", table_name(str(p.root))], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip6", table_name(str(p.root))], capture_output=True)
    return running


def test_reboot_then_ps_up_down(fault_root, tmp_path):
    p = Project(fault_root, tmp_path / "proj", PROJECT)
    inv = Inventory(fault_root)
    p.run("up", "-d")
    eng = p.engine()
    by_svc = {c["Labels"]["com.docker.compose.service"]: c["Id"] for c in eng.containers.list(all=True)}
    assert eng.containers.wait(by_svc["oneshot"]) == 3
    zombies = reboot(p, inv)
    assert set(zombies) == {by_svc["web"], by_svc["worker"]}
    assert not glob.glob(f"/sys/fs/cgroup/*/pycompose/{by_svc['web']}")
    assert (fault_root / "run" / "supervisor.pid").exists()  # stale: the pid of a process that is gone

    rows = {r["Service"]: r for r in p.ps()}  # the CLI revives the root's supervisor, which reconciles
    web_code = 137 if zombies[by_svc["web"]] else 255  # SIGKILL as the kernel recorded it, else lost
    assert rows["web"]["State"] == "exited" and rows["web"]["ExitCode"] == web_code, rows["web"]
    assert rows["oneshot"]["State"] == "exited" and rows["oneshot"]["ExitCode"] == 3, rows["oneshot"]
    assert rows["worker"]["State"] == "running", rows["worker"]  # restart: always starts at boot
    # stale network state released: only the restarted worker holds an address and a veth
    eps = [json.loads(f.read_text()) for f in (fault_root / "networks" / "endpoints").glob("*.json")]
    active = [e for e in eps if e.get("Active")]
    assert len(active) == 1, eps

    p.run("up", "-d")
    rows = {r["Service"]: r for r in p.ps()}
    assert rows["web"]["State"] == "running" and rows["web"]["Health"] == "healthy", rows["web"]
    assert rows["worker"]["State"] == "running"
    assert rows["oneshot"]["ExitCode"] == 3  # ran again
    web = eng.containers.inspect(by_svc["web"])
    assert web["Id"] == by_svc["web"]  # the same containers, started again, not new ones
    assert web["NetworkSettings"]["Networks"][f"{p.name}_front"]["IPAddress"]
    port = eng.containers.port(by_svc["web"])["80/tcp"][0]
    assert port["HostIp"] == "127.0.0.1" and int(port["HostPort"]) > 0
    inv.note()
    p.run("down", "-v", "-t", "0")
    assert inv.residue() == []
