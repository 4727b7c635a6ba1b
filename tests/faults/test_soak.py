"""Soak: 50 containers with ``restart: always`` whose every run lasts about a second, for 10
minutes (PYCOMPOSE_SOAK_SECONDS), under one supervisor.

Marked ``soak``: it runs when selected (``-m soak``) or with PYCOMPOSE_SOAK=1, so the suite's
runner decides where its 10 minutes go. It prints the supervisor's RSS and open fds over time and
asserts they stay flat: once every container is stopped again, the daemon holds no more fds than
before they started, and its RSS after warm-up does not grow. Each container writes ~3 KiB per
run into a json-file log with max-size 20k / max-file 3, so logs rotate many times: no file may
exceed max-size by more than one entry, and no fourth file may appear.

Restart back-off is Docker's (100 ms doubling, capped at a minute, reset by a 10 s run), so the
runs of one container space out over the minutes, as they would under dockerd.
"""
from __future__ import annotations

import os
import time

import pytest

from engine.api import Engine
from engine.containers import ContainerStore

pytestmark = [pytest.mark.root, pytest.mark.soak]
SECONDS = int(os.environ.get("PYCOMPOSE_SOAK_SECONDS", "600"))
COUNT = 50
MAX_SIZE = 20 * 1024
RUN = "i=0; while [ $i -lt 30 ]; do echo \"tick $i $(date +%s) padding-padding-padding-padding-padding-padding-padding-padding-padding\"; i=$((i+1)); done; sleep 1; exit 1"


def check_rotation(eng: Engine, ids: list[str]) -> int:
    """Every log within max-size (plus the one entry that crossed it), at most 3 files; returns how
    many containers have rotated into a third file."""
    full = 0
    for cid in ids:
        d = ContainerStore(eng.root).dir(cid)
        files = sorted(p.name for p in d.iterdir() if p.name.startswith(f"{cid}-json.log"))
        assert set(files) <= {f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"}, files
        for name in files:
            assert (d / name).stat().st_size < MAX_SIZE + 512, (name, (d / name).stat().st_size)
        full += f"{cid}-json.log.2" in files
    return full


def status(eng: Engine) -> dict:
    return eng.supervisor.status()


@pytest.mark.timeout(SECONDS + 600)
def test_soak_restart_always(fault_root):
    eng = Engine(str(fault_root))
    eng.networks.create("soaknet")
    warm = eng.containers.create({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "soaknet"}})
    eng.containers.start(warm)  # the daemon has loaded what a start needs (and the DNS server)
    eng.containers.wait(warm)
    eng.containers.remove(warm)
    idle_before = status(eng)
    ids = []
    for n in range(COUNT):
        hc = {"RestartPolicy": {"Name": "always"}, "NetworkMode": "soaknet" if n < 5 else "none",
              "LogConfig": {"Type": "json-file", "Config": {"max-size": "20k", "max-file": "3"}}}
        ids.append(eng.containers.create({"Image": "busybox", "Cmd": ["sh", "-c", RUN], "HostConfig": hc}))
    try:
        for cid in ids:
            eng.containers.start(cid)
        t0 = time.monotonic()
        samples = []
        next_sample = 0.0
        while time.monotonic() - t0 < SECONDS:
            elapsed = time.monotonic() - t0
            if elapsed >= next_sample:
                st = status(eng)
                samples.append((int(elapsed), st["rss_kib"], st["fds"], st["running"]))
                print(f"soak t={int(elapsed):4d}s rss={st['rss_kib']} KiB fds={st['fds']} running={st['running']}",
                      flush=True)
                next_sample += 60
            time.sleep(1)
        restarts = sum(eng.containers.inspect(cid)["RestartCount"] for cid in ids)
        rotated = check_rotation(eng, ids)
        for cid in ids:
            eng.containers.stop(cid, timeout=0)
        # the network worker the last bridged exits woke holds a pipe until it idles out (a few seconds):
        # give it that long; a descriptor kept per container would stay
        deadline = time.monotonic() + 20
        idle_after = status(eng)
        while idle_after["fds"] > idle_before["fds"] and time.monotonic() < deadline:
            time.sleep(0.5)
            idle_after = status(eng)
    finally:
        for cid in ids:
            eng.containers.remove(cid, force=True)
        eng.networks.remove("soaknet")
    late = [s for s in samples if s[0] >= 120] or samples
    print(f"soak: {COUNT} containers, {SECONDS}s, {restarts} restarts; supervisor idle before: "
          f"rss {idle_before['rss_kib']} KiB fds {idle_before['fds']}; idle after: rss {idle_after['rss_kib']} "
          f"KiB fds {idle_after['fds']}; rss after warm-up {late[0][1]} -> {late[-1][1]} KiB")
    assert restarts >= COUNT * 5 and rotated == COUNT  # every log went round its files
    assert idle_after["fds"] <= idle_before["fds"], (idle_before, idle_after)  # nothing held per container
    assert idle_after["boxes"] == idle_before["boxes"] + COUNT  # stopped, not yet removed: one box each
    assert late[-1][1] - late[0][1] < 8 * 1024, samples  # RSS flat once warm (< 8 MiB drift)
