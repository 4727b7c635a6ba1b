"""Durations and sizes from a compose file reach the container as the numbers they mean, and
``config`` prints them back as Docker Compose does (the model carries numbers in between)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.root


def test_durations_and_sizes_reach_the_container(compose_factory):
    c = compose_factory("values")
    c.run("up", "-d", "--wait", check=True)
    info = c.inspect(f"{c.project}-app-1")
    host, config = info["HostConfig"], info["Config"]
    assert (host["Memory"], host["MemorySwap"], host["MemoryReservation"], host["ShmSize"]) == \
        (64 << 20, 128 << 20, 32 << 20, 8 << 20)
    assert config["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 250_000_000, "Timeout": 2_000_000_000,
                                     "StartPeriod": 60_000_000_000, "StartInterval": 100_000_000, "Retries": 2}
    assert config["StopTimeout"] == 90
    assert info["State"]["Health"]["Status"] == "healthy"
    mounts = c.run("exec", "-T", "app", "cat", "/proc/mounts", check=True).stdout.splitlines()
    sizes = {m.split()[1]: m.split()[3] for m in mounts if m.split()[1] in ("/scratch", "/dev/shm")}
    assert "size=1024k" in sizes["/scratch"].split(",") and "size=8192k" in sizes["/dev/shm"].split(",")
    printed = json.loads(c.run("config", "--format", "json", check=True).stdout)["services"]["app"]
    assert (printed["mem_limit"], printed["shm_size"], printed["stop_grace_period"]) == ("67108864", "8388608", "1m30s")
    assert printed["healthcheck"]["interval"] == "250ms" and printed["healthcheck"]["start_period"] == "1m0s"
    hash_line = c.run("config", "--hash", "app", check=True).stdout.split()
    assert config["Labels"]["com.docker.compose.config-hash"] == hash_line[1]
    again = c.run("up", "-d", check=True)  # the same file: the same hash, the container kept
    assert "Running" in again.stderr and c.inspect(f"{c.project}-app-1")["Id"] == info["Id"]
