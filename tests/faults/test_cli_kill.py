"""SIGKILL of the CLI at random moments of ``up -d``; two commands on one project at once.

A user's terminal can die at any point of ``up``. Whatever was half made, the next ``up -d``
must converge to the whole project (one running container per replica, healthy where a
healthcheck says so) and ``down -v`` must leave nothing of it: no container, cgroup, veth,
bridge, nft table, mount, endpoint, volume or supervisor state (tests/faults/conftest.Inventory).
"""
from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time

import pytest

from faultkit import Inventory, Project

pytestmark = pytest.mark.root

TRIALS = int(os.environ.get("PYCOMPOSE_KILL_TRIALS", "50"))
SEED = int(os.environ.get("PYCOMPOSE_KILL_SEED", "9"))

# 10 services on two networks, two named volumes, one published port, healthchecks gating starts
PROJECT = """
networks:
  front: {}
  back: {}
volumes:
  data: {}
  cache: {}
x-svc: &svc
  image: busybox
  stop_signal: SIGKILL
  command: ["sh", "-c", "exec sleep 3600"]
services:
  db:
    <<: *svc
    command: ["sh", "-c", "echo ready > /data/ready; exec sleep 3600"]
    volumes: ["data:/data"]
    networks: [back]
    healthcheck: {test: ["CMD", "test", "-e", "/data/ready"], interval: 1s, start_period: 10s, start_interval: 100ms}
  cache:
    <<: *svc
    volumes: ["cache:/cache"]
    networks: [back]
    healthcheck: {test: ["CMD", "true"], interval: 1s, start_period: 10s, start_interval: 100ms}
  api:
    <<: *svc
    networks: [front, back]
    depends_on: {db: {condition: service_healthy}, cache: {condition: service_healthy}}
  worker1:
    <<: *svc
    networks: [back]
    volumes: ["data:/data:ro"]
    depends_on: [db]
  worker2:
    <<: *svc
    networks: [back]
    depends_on: [db]
  web:
    <<: *svc
    networks: [front]
    ports: ["127.0.0.1::8080"]
    depends_on: [api]
  cron:
    <<: *svc
    networks: [back]
    depends_on: {api: {condition: service_started}}
  metrics:
    <<: *svc
    networks: [front, back]
  proxy:
    <<: *svc
    networks: [front]
    depends_on: [web]
  tmp:
    <<: *svc
    network_mode: none
    tmpfs: [/scratch]
"""
SERVICES = {"db", "cache", "api", "worker1", "worker2", "web", "cron", "metrics", "proxy", "tmp"}


def converged(p: Project) -> list[str]:
    """What is wrong with the project after ``up -d`` ([] when it is whole)."""
    problems = []
    eng = p.engine()
    rows = eng.containers.list(all=True, filters={"label": [f"com.docker.compose.project={p.name}"]})
    by_service: dict[str, list[dict]] = {}
    for r in rows:
        by_service.setdefault(r["Labels"].get("com.docker.compose.service"), []).append(r)
    for svc in sorted(SERVICES):
        got = by_service.get(svc, [])
        if len(got) != 1:
            problems.append(f"{svc}: {len(got)} containers {[r['Names'] for r in got]}")
        elif got[0]["State"] != "running":
            problems.append(f"{svc}: {got[0]['State']}")
        elif svc in ("db", "cache") and "(healthy)" not in got[0]["Status"]:
            problems.append(f"{svc}: {got[0]['Status']}")
    extra = set(by_service) - SERVICES
    if extra:
        problems.append(f"unexpected services {sorted(extra)}")
    nets = {n["Name"] for n in eng.networks.list()}
    vols = {v["Name"] for v in eng.volumes.list()}
    for key in ("front", "back"):
        if f"{p.name}_{key}" not in nets:
            problems.append(f"network {key} missing")
    for key in ("data", "cache"):
        if f"{p.name}_{key}" not in vols:
            problems.append(f"volume {key} missing")
    return problems


@pytest.mark.timeout(1800)
def test_sigkill_of_up_at_random_moments(fault_root, tmp_path):
    p = Project(fault_root, tmp_path / "proj", PROJECT)
    inv = Inventory(fault_root)
    p.run("up", "-d")  # starts the supervisor: not what a kill is meant to interrupt
    assert converged(p) == []
    p.run("down", "-v", "-t", "0")
    assert inv.residue() == []
    # how many progress lines a whole `up -d` prints: each kill lands after a random one of them,
    # so every trial interrupts up somewhere between its first step and its last
    steps = len(p.run("--progress", "plain", "up", "-d").stderr.splitlines())
    p.run("down", "-v", "-t", "0")
    rng = random.Random(SEED)
    survived, outcomes = 0, []
    for trial in range(TRIALS):
        after = rng.randrange(0, steps)
        proc = p.popen("--progress", "plain", "up", "-d")
        t0 = time.monotonic()
        for _ in range(after):
            if not proc.stderr.readline():
                break
        time.sleep(rng.uniform(0.0, 0.05))  # and at any point between two lines
        delay = time.monotonic() - t0
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            outcomes.append("killed")
        else:
            outcomes.append("finished")
        proc.communicate()
        p.run("up", "-d")
        problems = converged(p)
        inv.note()
        p.run("down", "-v", "-t", "0")
        left = inv.residue()
        assert problems == [], f"trial {trial} (kill after {delay:.2f}s): not converged: {problems}"
        assert left == [], f"trial {trial} (kill after {delay:.2f}s): left behind: {left}"
        survived += 1
        sys.stderr.write(f"kill trial {trial}: {outcomes[-1]} after line {after} ({delay:.2f}s), converged, "
                         f"nothing left\n")
    print(f"\nkill trials: {TRIALS} run, {outcomes.count('killed')} killed mid-up, {survived} survived "
          f"(converged, nothing left); up -d prints {steps} progress lines; seed {SEED}")


def test_two_ups_at_once_make_one_container_per_replica(fault_root, tmp_path):
    p = Project(fault_root, tmp_path / "proj", PROJECT)
    inv = Inventory(fault_root)
    try:
        procs = [p.popen("up", "-d") for _ in range(2)]
        outs = [proc.communicate(timeout=180) for proc in procs]
        for proc, (out, err) in zip(procs, outs):
            assert "Traceback" not in err, err
            assert proc.returncode == 0, err
        # the one that came second waited for the first, and said so
        assert any(f'project "{p.name}" is locked by another pycompose command' in err for _, err in outs), outs
        assert converged(p) == []
    finally:
        inv.note()
        p.run("down", "-v", "-t", "0")
    assert inv.residue() == []


def test_up_racing_down_ends_consistent(fault_root, tmp_path):
    p = Project(fault_root, tmp_path / "proj", PROJECT)
    inv = Inventory(fault_root)
    p.run("up", "-d")
    try:
        for trial in range(3):
            results = {}

            def go(what: str, *args: str) -> None:
                results[what] = p.run(*args, check=False)

            threads = [threading.Thread(target=go, args=("down", "down", "-v", "-t", "0")),
                       threading.Thread(target=go, args=("up", "up", "-d"))]
            if trial % 2:
                threads.reverse()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for what, r in results.items():
                assert r.returncode == 0, (what, r.stderr)
            rows = p.engine().containers.list(all=True, filters={"label": [f"com.docker.compose.project={p.name}"]})
            # either order is fine; a mix (some services up, some down) or a duplicate is not
            if rows:
                assert converged(p) == [], f"trial {trial}: {converged(p)}"
            else:
                inv.note()
                assert inv.residue() == [], f"trial {trial}"
                p.run("up", "-d")
    finally:
        inv.note()
        p.run("down", "-v", "-t", "0")
    assert inv.residue() == []
