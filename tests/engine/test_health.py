"""Healthchecks run by the supervisor, as root: starting -> healthy, starting -> unhealthy,
FailingStreak, the last 5 results, timeouts, NONE; a health_status event on every change."""
from __future__ import annotations

import time

import pytest

from test_supervisor_fixtures import now_ns, wait_for_action

pytestmark = pytest.mark.root
MS = 1_000_000


def test_starting_then_healthy(eng, make):
    cid = make(["sh", "-c", "sleep 0.5; touch /tmp/ready; while true; do sleep 0.05; done"],
               Healthcheck={"Test": ["CMD-SHELL", "test -f /tmp/ready && echo fine"], "Interval": 100 * MS,
                            "Timeout": 5000 * MS, "Retries": 50})
    t0 = now_ns()
    eng.containers.start(cid)
    evs = wait_for_action(eng, cid, lambda a: a == "health_status: healthy", t0)
    statuses = [e["Action"] for e in evs if e["Action"].startswith("health_status")]
    assert statuses == ["health_status: starting", "health_status: healthy"]
    h = eng.containers.inspect(cid)["State"]["Health"]
    assert h["Status"] == "healthy" and h["FailingStreak"] == 0
    last = h["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"] == "fine\n" and last["Start"] <= last["End"]
    assert any(r["ExitCode"] == 1 for r in h["Log"])  # it did probe before /tmp/ready existed
    eng.containers.stop(cid, timeout=0)


def test_starting_then_unhealthy_with_streak_and_five_results(eng, make):
    cid = make(["sh", "-c", "while true; do sleep 0.05; done"],
               Healthcheck={"Test": ["CMD", "sh", "-c", "echo nope; exit 1"], "Interval": 50 * MS, "Retries": 2})
    t0 = now_ns()
    eng.containers.start(cid)
    evs = wait_for_action(eng, cid, lambda a: a == "health_status: unhealthy", t0)
    assert [e["Action"] for e in evs if e["Action"].startswith("health")] == \
        ["health_status: starting", "health_status: unhealthy"]
    h = eng.containers.inspect(cid)["State"]["Health"]
    assert h["Status"] == "unhealthy" and h["FailingStreak"] == 2
    # keep probing: the streak grows and only the last 5 results are kept
    while eng.containers.inspect(cid)["State"]["Health"]["FailingStreak"] < 7:
        time.sleep(0.05)
    h = eng.containers.inspect(cid)["State"]["Health"]
    assert len(h["Log"]) == 5 and all(r["ExitCode"] == 1 and r["Output"] == "nope\n" for r in h["Log"])
    eng.containers.stop(cid, timeout=0)


def test_probe_timeout_counts_as_failure(eng, make):
    cid = make(["sh", "-c", "while true; do sleep 0.05; done"],
               Healthcheck={"Test": ["CMD", "sleep", "5"], "Interval": 50 * MS, "Timeout": 200 * MS,
                            "Retries": 1})
    t0 = now_ns()
    eng.containers.start(cid)
    wait_for_action(eng, cid, lambda a: a == "health_status: unhealthy", t0)
    res = eng.containers.inspect(cid)["State"]["Health"]["Log"][-1]
    assert res["ExitCode"] == -1 and res["Output"] == "Health check exceeded timeout (200ms)"
    eng.containers.stop(cid, timeout=0)


def test_start_period_failures_do_not_count(eng, make):
    cid = make(["sh", "-c", "while true; do sleep 0.05; done"],
               Healthcheck={"Test": ["CMD", "false"], "Interval": 50 * MS, "Retries": 1,
                            "StartPeriod": 60_000 * MS, "StartInterval": 50 * MS})
    eng.containers.start(cid)
    t0 = now_ns()
    # results that do not change the status send no event: read them from the Log
    while len(eng.containers.inspect(cid)["State"]["Health"]["Log"]) < 3:
        time.sleep(0.05)
    h = eng.containers.inspect(cid)["State"]["Health"]
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert t0  # (no unhealthy event can have come: the status is still starting)
    eng.containers.stop(cid, timeout=0)


def test_none_disables_the_image_check(eng, make):
    cid = make(["true"], Healthcheck={"Test": ["NONE"]})
    eng.containers.start(cid)
    eng.containers.wait(cid)
    assert eng.containers.inspect(cid)["State"].get("Health") in (None, {})
