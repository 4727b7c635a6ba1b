"""Scheduling by dependency conditions, with readiness from engine events.

FakeEngine stands for engine.api.Engine in these unit tests only (no kernel
here): containers are dicts whose state changes on timers, and every change is
pushed on the events stream like the supervisor does. The e2e tests run the
same scheduler against the real engine.
"""
import queue
import threading
import time

import anyio
import pytest

from compose import scheduler as sch
from compose.graph import service_dependencies


def _later(delay, fn):
    t = threading.Timer(delay, fn)
    t.daemon = True
    t.start()


class FakeContainers:
    def __init__(self, engine):
        self.e = engine
        self.by_id = {}
        self.started_order = []

    def inspect(self, cid):
        return self.by_id[cid]

    def start(self, cid, behaviour):
        """behaviour: ("healthy", delay) | ("unhealthy", delay) | ("exit", code, delay) | ("run",)"""
        c = self.by_id[cid]
        c["State"]["Status"], c["State"]["Running"] = "running", True
        self.started_order.append((cid, time.monotonic()))
        self.e.emit(cid, "start")
        kind = behaviour[0]
        if kind in ("healthy", "unhealthy"):
            c["State"]["Health"] = {"Status": "starting"}
            c["Config"]["Healthcheck"] = {"Test": ["CMD", "true"]}

            def flip():
                c["State"]["Health"] = {"Status": kind}
                self.e.healthy_at[cid] = time.monotonic()
                self.e.emit(cid, f"health_status: {kind}")
            _later(behaviour[1], flip)
        elif kind == "exit":
            def die():
                c["State"].update(Status="exited", Running=False, ExitCode=behaviour[1])
                self.e.emit(cid, "die")
            _later(behaviour[2], die)
        elif kind == "exited":
            c["State"].update(Status="exited", Running=False, ExitCode=behaviour[1])


class FakeEngine:
    def __init__(self):
        self.containers = FakeContainers(self)
        self.q = queue.Queue()
        self.healthy_at = {}

    def add(self, cid):
        self.containers.by_id[cid] = {"Id": cid, "Name": "/" + cid, "Config": {"Labels": {}},
                                      "State": {"Status": "created", "Running": False}}

    def emit(self, cid, action):
        self.q.put({"Type": "container", "Action": action, "Actor": {"ID": cid, "Attributes": {}}})

    def events(self, filters=None, since=None, until=None):
        while True:
            yield self.q.get()


def run_up(services, behaviours, parallel=-1):
    eng = FakeEngine()
    active, peak = [0], [0]

    async def work(name):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await anyio.sleep(0.01)
        eng.add(name)
        eng.containers.start(name, behaviours.get(name, ("run",)))
        active[0] -= 1
        return [name]

    async def main():
        async with sch.Watch(eng) as w:
            return await sch.run_in_dependency_order(services, work, w, parallel=parallel)

    return anyio.run(main), eng, peak[0]


def dep(cond, required=True, restart=False):
    return {"condition": cond, "required": required, "restart": restart}


def test_healthy_gated_dependent_starts_after_health_not_before():
    services = {"db": {}, "web": {"depends_on": {"db": dep("service_healthy")}}, "other": {}}
    out, eng, _ = run_up(services, {"db": ("healthy", 0.3)})
    assert not out.errors
    started = dict(eng.containers.started_order)
    assert started["web"] >= eng.healthy_at["db"]
    # an independent service does not wait for db's health
    assert started["other"] < eng.healthy_at["db"]


def test_unhealthy_dependency_fails_dependents_with_reason_only():
    services = {"db": {}, "web": {"depends_on": {"db": dep("service_healthy")}},
                "api": {"depends_on": {"web": dep("service_started")}}, "solo": {}}
    out, eng, _ = run_up(services, {"db": ("unhealthy", 0.05)})
    assert "container db is unhealthy" in str(out.errors["web"])
    assert "dependency web failed to start" in str(out.errors["api"])
    assert "solo" in dict(eng.containers.started_order) and "web" not in dict(eng.containers.started_order)


def test_no_healthcheck_fails_service_healthy():
    services = {"db": {}, "web": {"depends_on": {"db": dep("service_healthy")}}}
    out, _, _ = run_up(services, {})
    assert "has no healthcheck" in str(out.errors["web"])


def test_completed_successfully_and_failure():
    services = {"migrate": {}, "app": {"depends_on": {"migrate": dep("service_completed_successfully")}}}
    out, eng, _ = run_up(services, {"migrate": ("exit", 0, 0.1)})
    assert not out.errors and "app" in dict(eng.containers.started_order)
    out, _, _ = run_up(services, {"migrate": ("exit", 3, 0.05)})
    assert "didn't complete successfully: exit 3" in str(out.errors["app"])


def test_optional_dependency_failure_does_not_block():
    services = {"db": {}, "web": {"depends_on": {"db": dep("service_healthy", required=False)}}}
    out, eng, _ = run_up(services, {"db": ("unhealthy", 0.05)})
    assert "web" not in out.errors and "web" in dict(eng.containers.started_order)


def test_parallel_caps_concurrency():
    services = {f"s{i}": {} for i in range(6)}
    _, _, peak = run_up(services, {}, parallel=1)
    assert peak == 1
    _, _, peak = run_up(services, {}, parallel=-1)
    assert peak > 1


def test_implicit_dependencies_from_network_mode_and_volumes_from():
    deps = service_dependencies({"network_mode": "service:a", "volumes_from": ["b:ro", "container:x"],
                                 "depends_on": {"c": {"condition": "service_healthy"}}})
    assert set(deps) == {"a", "b", "c"} and deps["c"]["required"] is True


def test_reverse_order_stops_dependents_first():
    services = {"db": {}, "web": {"depends_on": {"db": dep("service_started")}},
                "proxy": {"depends_on": {"web": dep("service_started")}}}
    order = []

    async def work(name):
        await anyio.sleep(0.01 if name == "proxy" else 0)
        order.append(name)

    out = anyio.run(sch.run_in_reverse_order, services, work)
    assert not out.errors and order == ["proxy", "web", "db"]


def test_wait_running_success_unhealthy_and_timeout():
    async def scenario(behaviour, timeout, one_shot=False):
        eng = FakeEngine()
        eng.add("a")
        eng.containers.start("a", behaviour)
        services = {"a": {}, "b": {"depends_on": {"a": dep("service_completed_successfully")}}} if one_shot else {"a": {}}
        async with sch.Watch(eng) as w:
            await sch.wait_running(w, {"a": ["a"]}, services, timeout=timeout)

    anyio.run(scenario, ("healthy", 0.05), 5)
    with pytest.raises(sch.ServiceFailed, match="is unhealthy"):
        anyio.run(scenario, ("unhealthy", 0.05), 5)
    with pytest.raises(sch.WaitTimeout, match="timeout waiting .* after 0.2s: a"):
        anyio.run(scenario, ("healthy", 30), 0.2)
    with pytest.raises(sch.ServiceFailed, match="exited \\(0\\)"):
        anyio.run(scenario, ("exited", 0), 5)
    anyio.run(scenario, ("exited", 0), 5, True)  # one-shot others wait on may exit 0
    with pytest.raises(sch.ServiceFailed, match="exited \\(2\\)"):
        anyio.run(scenario, ("exited", 2), 5, True)  # one-shot others wait on may exit 0


def test_restart_pending_follows_the_restart_policy():
    def info(name, count=0, limit=0, restarting=False):
        return {"State": {"Restarting": restarting}, "RestartCount": count,
                "HostConfig": {"RestartPolicy": {"Name": name, "MaximumRetryCount": limit}}}

    assert sch.restart_pending(info("always"), 0) and sch.restart_pending(info("unless-stopped"), 3)
    assert not sch.restart_pending(info(""), 1) and not sch.restart_pending(info("no"), 1)
    assert sch.restart_pending(info("", restarting=True), 0)  # the record already says so
    assert not sch.restart_pending(info("on-failure"), 0)
    assert sch.restart_pending(info("on-failure"), 1)
    assert sch.restart_pending(info("on-failure", count=1, limit=2), 1)
    assert not sch.restart_pending(info("on-failure", count=2, limit=2), 1)
