#!/usr/bin/env python3
"""Memory of the engine's own processes for N idle containers: pycompose's supervisor beside
podman's conmons and Docker's dockerd+containerd+shims, measured in the same run.

    python3 bench/supervisor_memory.py [-n 50]

pycompose: a fresh data root, busybox from scripts/make-test-image, N containers running
``sleep 3600`` on the default network; measured once the network worker has gone idle (it
exits after a few seconds without work), so what is left is the long-lived daemon. PSS comes
from /proc/PID/smaps_rollup, like ../shared/peers/mem.py. Peers: podman when installed
(containers in the peers-podman netns, named pyc-bench-mem-*, removed after), Docker only when
a peers dockerd already runs (this script never starts or stops a shared daemon); a peer that
cannot be measured is reported as such.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO.parent / "shared" / "peers"
sys.path.insert(0, str(REPO))


def rollup(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[-1] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def engine_pids(root: Path) -> list[int]:
    """The supervisor of ``root`` and its network worker (the containers are not engine processes)."""
    sup = int((root / "run" / "supervisor.pid").read_text())
    pids = [sup]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
                comm = Path(f"/proc/{d}/comm").read_text().strip()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == sup and comm == "pycompose-net":
                pids.append(int(d))
    return pids


def bench_pycompose(n: int, user_network: bool = False) -> dict:
    from engine.api import Engine
    from engine.supervisor import networker

    root = Path(tempfile.mkdtemp(prefix="pyc-bench-mem-"))
    env = dict(os.environ, PYCOMPOSE_ROOT=str(root))
    subprocess.run([str(REPO / "scripts" / "make-test-image")], check=True, env=env, stdout=subprocess.DEVNULL)
    eng = Engine(str(root))
    ids = []
    body = {"Image": "busybox", "Cmd": ["sleep", "3600"]}
    if user_network:  # like compose: a project network, so the embedded DNS server runs too
        eng.networks.create("pyc-bench-mem")
        body["HostConfig"] = {"NetworkMode": "pyc-bench-mem"}
    try:
        t0 = time.monotonic()
        for _ in range(n):
            cid = eng.containers.create(body)
            eng.containers.start(cid)
            ids.append(cid)
        started = time.monotonic() - t0
        busy = sum(rollup(p).get("Pss", 0) for p in engine_pids(root)) / 1024
        time.sleep(networker.IDLE + 1.5)  # idle: the network worker has exited
        pids = engine_pids(root)
        rolls = [rollup(p) for p in pids]
        return {"processes": len(pids), "pss_mib": sum(r.get("Pss", 0) for r in rolls) / 1024,
                "rss_mib": sum(r.get("Rss", 0) for r in rolls) / 1024, "pss_while_starting_mib": busy,
                "start_s": started}
    finally:
        for cid in ids:
            eng.containers.remove(cid, force=True)
        if user_network:
            eng.networks.remove("pyc-bench-mem")
        eng.shutdown()
        shutil.rmtree(root, ignore_errors=True)


def _peer_mem(kind: str) -> dict:
    sys.path.insert(0, str(PEERS))
    import mem  # ../shared/peers/mem.py

    res = mem.measure(kind)
    engine = [k for k in res if k != "workload"]
    return {"pss_mib": sum(res[k]["pss_sum_mib"] for k in engine),
            "rss_mib": sum(res[k]["rss_sum_mib"] for k in engine),
            "groups": {k: (res[k]["count"], res[k]["pss_sum_mib"]) for k in engine}}


def bench_podman(n: int) -> dict | str:
    if not shutil.which("podman"):
        return "not installed (bash ../shared/peers/install.sh)"
    subprocess.run(["bash", str(PEERS / "daemons.sh"), "setup-podman"], check=True, stdout=subprocess.DEVNULL)
    pn = ["nsenter", "--net=/run/netns/peers-podman", "podman"]
    names = [f"pyc-bench-mem-{i}" for i in range(n)]
    if subprocess.run(pn + ["image", "exists", "busybox"]).returncode != 0:
        subprocess.run(["bash", str(PEERS / "make-busybox.sh")], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, IMG_DIR="/tmp/peer-images"))
    try:
        for name in names:
            subprocess.run(pn + ["run", "-d", "--name", name, "busybox", "sleep", "3600"], check=True,
                           stdout=subprocess.DEVNULL)
        time.sleep(2)
        return _peer_mem("podman")
    finally:
        subprocess.run(pn + ["rm", "-f", "-t", "0"] + names, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_docker(n: int) -> dict | str:
    if not shutil.which("docker"):
        return "not installed (bash ../shared/peers/install.sh)"
    if subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        return "dockerd not running (start it with ../shared/peers/daemons.sh start-docker; not started here)"
    names = [f"pyc-bench-mem-{i}" for i in range(n)]
    try:
        for name in names:
            subprocess.run(["docker", "run", "-d", "--name", name, "busybox", "sleep", "3600"], check=True,
                           stdout=subprocess.DEVNULL)
        time.sleep(2)
        return _peer_mem("docker")
    finally:
        subprocess.run(["docker", "rm", "-f"] + names, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=50, help="idle containers (default 50)")
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 1
    print(f"engine memory for {a.n} idle busybox containers (PSS, MiB; target <= 25):")
    for label, user_net in (("default bridge", False), ("user network + DNS", True)):
        res = bench_pycompose(a.n, user_net)
        print(f"  pycompose  {res['pss_mib']:7.1f}  {label}: {res['processes']} process, RSS {res['rss_mib']:.1f}; "
              f"{res['pss_while_starting_mib']:.1f} while starting, with the network worker; "
              f"{a.n} starts took {res['start_s']:.1f} s")
    if a.no_peers:
        return 0
    for name, fn in (("podman", bench_podman), ("docker", bench_docker)):
        try:
            r = fn(a.n)
        except subprocess.CalledProcessError as e:
            r = f"failed: {e}"
        if isinstance(r, str):
            print(f"  {name:9s}  not measured: {r}")
            continue
        groups = ", ".join(f"{k} {c}x {p:.1f}" for k, (c, p) in r["groups"].items())
        print(f"  {name:9s}  {r['pss_mib']:7.1f}  ({groups}; every such process on this machine is counted, "
              f"also other users' containers)" if r["pss_mib"] else f"  {name}: nothing measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
