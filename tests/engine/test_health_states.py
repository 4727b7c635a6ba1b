"""engine.supervisor.health: Docker's healthcheck rules as pure functions (no root needed)."""
from __future__ import annotations

import pytest

from engine.errors import InvalidArgument
from engine.supervisor.health import (DEFAULT_INTERVAL, DEFAULT_START_INTERVAL, HealthConfig, initial_health,
                                      next_delay, record_result)

S = 1_000_000_000


def res(code, out=""):
    return {"Start": "s", "End": "e", "ExitCode": code, "Output": out}


def test_config_forms_and_inheritance():
    assert HealthConfig.from_config({"Healthcheck": {"Test": ["CMD-SHELL", "curl -f x"]}}).command == \
        ["/bin/sh", "-c", "curl -f x"]
    assert HealthConfig.from_config({"Healthcheck": {"Test": ["CMD", "a", "b"]}}).command == ["a", "b"]
    assert HealthConfig.from_config({"Healthcheck": {"Test": ["NONE"]}}, {"Healthcheck": {"Test": ["CMD", "x"]}}) is None
    inherited = HealthConfig.from_config({}, {"Healthcheck": {"Test": ["CMD", "x"], "Interval": 2 * S}})
    assert inherited.command == ["x"] and inherited.interval == 2 * S and inherited.retries == 3
    mixed = HealthConfig.from_config({"Healthcheck": {"Retries": 9}}, {"Healthcheck": {"Test": ["CMD", "x"]}})
    assert mixed.retries == 9 and mixed.interval == DEFAULT_INTERVAL
    assert HealthConfig.from_config({}) is None
    with pytest.raises(InvalidArgument, match="unknown Healthcheck type"):
        HealthConfig.from_config({"Healthcheck": {"Test": ["RUN", "x"]}})


def test_streak_retries_and_recovery():
    cfg = HealthConfig(["x"], retries=2)
    h = initial_health()
    h = record_result(cfg, h, res(1), 0, 1)
    assert (h["Status"], h["FailingStreak"]) == ("starting", 1)
    h = record_result(cfg, h, res(1), 0, 2)
    assert (h["Status"], h["FailingStreak"]) == ("unhealthy", 2)
    h = record_result(cfg, h, res(0), 0, 3)
    assert (h["Status"], h["FailingStreak"]) == ("healthy", 0)


def test_log_keeps_five_and_truncates_output():
    cfg = HealthConfig(["x"])
    h = initial_health()
    for i in range(8):
        h = record_result(cfg, h, res(0, "y" * 5000 if i == 7 else str(i)), 0, i)
    assert [r["Output"] for r in h["Log"][:4]] == ["3", "4", "5", "6"] and len(h["Log"][4]["Output"]) == 4096


def test_start_period_and_start_interval():
    cfg = HealthConfig(["x"], retries=1, start_period=10 * S, interval=30 * S)
    h = record_result(cfg, initial_health(), res(1), 0, 5 * S)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert next_delay(cfg, h, 0, 5 * S) == DEFAULT_START_INTERVAL
    assert next_delay(cfg, h, 0, 11 * S) == 30 * S
    h = record_result(cfg, h, res(1), 0, 11 * S)
    assert h["Status"] == "unhealthy"
