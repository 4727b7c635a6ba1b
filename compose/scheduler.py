"""Run per-service work concurrently, each service as soon as its OWN dependencies are ready.

Docker Compose v2 starts services in dependency order and checks readiness by
polling the engine every 500 ms. Here every service is one anyio task that
waits only for its own dependencies' conditions; readiness comes from the
engine's event stream (start, die, health_status...), so a dependent starts
within milliseconds of its dependency turning healthy. ``--parallel`` caps how
many services do work at once. A failed dependency fails its dependents with a
message saying why; independent services carry on.

The engine API is synchronous: its calls run in worker threads and its event
stream is read by one thread that wakes the waiting tasks.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import anyio
import anyio.from_thread
import anyio.to_thread

from compose.convert import PROJECT, SERVICE
from compose.errors import ComposeError
from compose.graph import ServiceGraph
from engine.values import parse_rfc3339

STARTED, HEALTHY, COMPLETED = "service_started", "service_healthy", "service_completed_successfully"


class ServiceFailed(ComposeError):
    """A service could not be brought up (or down); names the service and why."""


class DependencyFailed(ServiceFailed):
    """A service was not started because one of its dependencies failed."""


class WaitTimeout(ComposeError):
    """``--wait-timeout`` elapsed before every service was running/healthy."""


# ------------------------------------------------------------- engine watch

class Watch:
    """Container state changes from the engine's event stream, as anyio wake-ups.

    ``changed(cid)`` returns an Event set at the next event for that container;
    callers take it BEFORE inspecting so no change is ever missed.
    """

    def __init__(self, engine: Any, filters: dict[str, list[str]] | None = None):
        self.engine = engine
        self.filters = filters
        self._events: dict[str, anyio.Event] = {}
        self._any = anyio.Event()
        self._token = None
        self._stopped = False
        self._stream = None
        self.listeners: list[Callable[[dict], None]] = []
        self._last: dict[str, dict] = {}   # last lifecycle event per container

    async def __aenter__(self) -> "Watch":
        import time

        self._since = time.time()
        self._token = anyio.lowlevel.current_token()
        ready = threading.Event()
        self._error: BaseException | None = None
        t = threading.Thread(target=self._pump, args=(ready,), name="pycompose-events", daemon=True)
        t.start()
        await anyio.to_thread.run_sync(ready.wait)
        if self._error:
            raise self._error
        return self

    async def __aexit__(self, *exc) -> None:
        self._stopped = True
        stream = self._stream
        close = getattr(stream, "close", None)
        if close:
            try:
                close()
            except Exception:  # noqa: BLE001 - a generator running in the pump thread cannot be closed
                pass

    def _pump(self, ready: threading.Event) -> None:
        try:
            # since=now: events between this call and the stream's actual subscription are
            # replayed from the engine's history, so no wake-up is ever lost
            self._stream = iter(self.engine.events(filters=self.filters, since=self._since))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            self._error = e
            ready.set()
            return
        ready.set()
        try:
            # the first next() may be what subscribes; engines that subscribe on call are fine too
            for ev in self._stream:
                if self._stopped:
                    return
                try:
                    anyio.from_thread.run_sync(self._on_event, ev, token=self._token)
                except RuntimeError:  # the event loop is gone
                    return
        except Exception:  # noqa: BLE001 - stream closed under us at shutdown
            if not self._stopped:
                anyio.from_thread.run_sync(self._wake_all, token=self._token)

    def _on_event(self, ev: dict) -> None:
        actor = (ev.get("Actor") or {}).get("ID") or ev.get("id") or ""
        if ev.get("Action") in ("die", "start", "restart", "destroy"):
            self._last[actor] = ev
        for fn in self.listeners:
            fn(ev)
        e = self._events.pop(actor, None)
        if e:
            e.set()
        self._any.set()
        self._any = anyio.Event()

    def _wake_all(self) -> None:
        for e in self._events.values():
            e.set()
        self._events.clear()
        self._any.set()

    def overlay(self, cid: str, info: dict) -> dict:
        """The state as the events tell it, when the record has not caught up yet: an engine may
        publish "die" a moment before it writes the exited state, and that moment must not be lost."""
        ev = self._last.get(cid)
        st = info.get("State") or {}
        if not ev or ev.get("Action") != "die" or not st.get("Running") or st.get("Restarting"):
            return info
        if int(ev.get("timeNano") or 0) < _ns(st.get("StartedAt")):
            return info  # the die was of an earlier run
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        try:
            code = int(attrs.get("exitCode", 0))
        except ValueError:
            code = 0
        info = dict(info, State=dict(st, Status="exited", Running=False, Paused=False, ExitCode=code))
        return info

    def changed(self, cid: str) -> anyio.Event:
        e = self._events.get(cid)
        if e is None:
            e = self._events[cid] = anyio.Event()
        return e

    async def until(self, cid: str, decide: Callable[[dict], Any]) -> Any:
        """Inspect ``cid`` now and after each of its events until ``decide(inspect)`` is not None."""
        while True:
            ev = self.changed(cid)
            info = self.overlay(cid, await anyio.to_thread.run_sync(self.engine.containers.inspect, cid))
            result = decide(info)
            if result is not None:
                return result
            await ev.wait()


# ------------------------------------------------------------- attached up

def restart_pending(info: dict, code: int) -> bool:
    """Whether the engine restarts a container that just exited with ``code``, from its restart
    policy: the record may not say "restarting" yet when the die event arrives."""
    if (info.get("State") or {}).get("Restarting"):
        return True
    pol = (info.get("HostConfig") or {}).get("RestartPolicy") or {}
    name = pol.get("Name") or "no"
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure" and code != 0:
        limit = int(pol.get("MaximumRetryCount") or 0)
        return not limit or int(info.get("RestartCount") or 0) < limit
    return False


class UntilStopped:
    """Attached ``up``: follows the project's containers (from the engine's events since
    ``since``, so no exit is missed) until each has stopped for good or ``done`` is set.

    ``on_exit(service, name, code)`` hears every exit first (the CLI prints it and applies
    --abort-on-container-exit by setting ``done``); a container its restart policy brings
    back keeps the run going. Blocking: meant for a thread.
    """

    def __init__(self, engine: Any, project: str, started: set[str], since: float,
                 on_exit: Callable[[str, str, int], None]):
        self.engine, self.project, self.since, self.on_exit = engine, project, since, on_exit
        self.running = set(started)
        self.known = set(started)
        self.done = threading.Event()
        self.exit_codes: dict[str, int] = {}

    def run(self) -> None:
        import time

        for ev in self.engine.events(filters={"label": [f"{PROJECT}={self.project}"], "type": ["container"]},
                                     since=self.since):
            action = ev.get("Action")
            actor = ev.get("Actor") or {}
            cid = actor.get("ID", "")
            if cid not in self.known and action != "start":
                continue
            if action == "start":
                self.known.add(cid)
                self.running.add(cid)
            elif action == "die":
                if not self._exited(cid, actor.get("Attributes") or {}):
                    self.running.discard(cid)
            elif action in ("stop", "destroy"):
                self.running.discard(cid)
            if not self.running or self.done.is_set():
                time.sleep(0.05)  # let the last lines of output arrive
                self.done.set()
                return

    def _exited(self, cid: str, attrs: dict) -> bool:
        """Report the exit; True when the container will restart."""
        try:
            code = int(attrs.get("exitCode") or attrs.get("ExitCode") or 0)
        except ValueError:
            code = 0
        service = attrs.get(SERVICE) or ""
        self.exit_codes[service] = code
        self.on_exit(service, attrs.get("name") or cid[:12], code)
        try:
            info = self.engine.containers.inspect(cid)
        except Exception:  # noqa: BLE001 - removed meanwhile
            return False
        return restart_pending(info, code)


# ------------------------------------------------------------- conditions

def _ns(text: Any) -> int:
    """RFC 3339 (nanoseconds, maybe trimmed) -> ns since the epoch; 0 when unset."""
    try:
        return parse_rfc3339(str(text or ""))
    except ValueError:
        return 0


def _name(info: dict) -> str:
    return (info.get("Name") or info.get("Id", "")[:12]).lstrip("/")


def started_decision(info: dict) -> Any:
    st = info.get("State") or {}
    if st.get("Running") or st.get("Status") in ("running", "restarting", "paused"):
        return True
    if st.get("Status") in ("exited", "dead"):
        return True  # it did start; what it does next is not service_started's business
    return None


def healthy_decision(info: dict) -> Any:
    """Compose v2's service_healthy: fails on unhealthy, on exit, and without a healthcheck."""
    st = info.get("State") or {}
    name = _name(info)
    health = st.get("Health")
    hc = (info.get("Config") or {}).get("Healthcheck") or {}
    if not health and (not hc or hc.get("Test") in (["NONE"], None)):
        raise ServiceFailed(f"container {name} has no healthcheck configured")
    if st.get("Status") in ("exited", "dead"):
        raise ServiceFailed(f"container {name} exited ({st.get('ExitCode', 0)})")
    status = (health or {}).get("Status")
    if status == "healthy":
        return True
    if status == "unhealthy":
        raise ServiceFailed(f"container {name} is unhealthy")
    return None


def completed_decision(info: dict) -> Any:
    st = info.get("State") or {}
    if st.get("Status") in ("exited", "dead") and not st.get("Restarting"):
        code = int(st.get("ExitCode") or 0)
        if code == 0:
            return True
        raise ServiceFailed(f"service {info.get('Config', {}).get('Labels', {}).get(SERVICE, _name(info))} "
                            f"didn't complete successfully: exit {code}")
    return None


def running_or_healthy_decision(info: dict, may_exit_zero: bool) -> Any:
    """``--wait``: running (healthy when it has a healthcheck); exited 0 only when allowed."""
    st = info.get("State") or {}
    name = _name(info)
    if st.get("Status") in ("exited", "dead"):
        code = int(st.get("ExitCode") or 0)
        if code == 0 and may_exit_zero:
            return "Exited"
        raise ServiceFailed(f"container {name} exited ({code})")
    health = (st.get("Health") or {}).get("Status")
    if health == "unhealthy":
        raise ServiceFailed(f"container {name} is unhealthy")
    if st.get("Status") == "running" and health in (None, "", "healthy"):
        return "Healthy" if health == "healthy" else "Running"
    return None


CONDITIONS = {STARTED: started_decision, HEALTHY: healthy_decision, COMPLETED: completed_decision}


# ------------------------------------------------------------- scheduling

@dataclass
class Outcome:
    """What happened to each service: container ids, or the error that stopped it."""

    containers: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)

    def raise_first(self) -> None:
        if self.errors:
            errs = list(self.errors.values())
            root = next((e for e in errs if not isinstance(e, DependencyFailed)), errs[0])
            raise root


Work = Callable[[str], Awaitable[list[str]]]
Progress = Callable[[str, str, str], None]  # (container or service name, status, detail)


def _limiter(parallel: int) -> anyio.CapacityLimiter | None:
    return anyio.CapacityLimiter(parallel) if parallel and parallel > 0 else None


async def _limited(limiter: anyio.CapacityLimiter | None, fn: Callable[[str], Awaitable[Any]], name: str) -> Any:
    """``fn(name)``, holding one of ``--parallel``'s slots when there is a limit."""
    if limiter:
        async with limiter:
            return await fn(name)
    return await fn(name)


async def run_in_dependency_order(services: dict[str, dict], work: Work, watch: Watch | None,
                                  parallel: int = -1, progress: Progress | None = None,
                                  check_conditions: bool = True,
                                  prepare: Callable[[str], Awaitable[None]] | None = None) -> Outcome:
    """One task per service: ``prepare(name)`` once its dependencies are prepared, then, once
    its dependencies meet their conditions, ``work(name)``.

    Like Compose, containers are created (``prepare``) without waiting for readiness, so a
    dependent is ready to start the moment its dependency turns healthy. ``work`` returns the
    ids of the service's containers (used to check conditions of its dependents).
    Dependencies outside ``services`` are not waited for.
    """
    out = Outcome()
    graph = ServiceGraph(services)
    done = {n: anyio.Event() for n in services}
    created = {n: anyio.Event() for n in services}
    limiter = _limiter(parallel)

    async def wait_dep(name: str, dep: str, spec: dict) -> None:
        await done[dep].wait()
        if dep in out.errors:
            raise DependencyFailed(f"service {name}: dependency {dep} failed to start: {out.errors[dep]}")
        if not check_conditions or watch is None:
            return
        decide = CONDITIONS.get(spec.get("condition", STARTED), started_decision)
        for cid in out.containers.get(dep, []):
            if progress and spec.get("condition") in (HEALTHY, COMPLETED):
                progress(cid, "Waiting", "")
            try:
                await watch.until(cid, decide)
            except ServiceFailed as e:
                raise DependencyFailed(f"service {name}: dependency failed to start: {e}") from None
            if progress and spec.get("condition") == HEALTHY:
                progress(cid, "Healthy", "")
            elif progress and spec.get("condition") == COMPLETED:
                progress(cid, "Exited", "")

    async def one(name: str) -> None:
        try:
            deps = {d: s for d, s in graph.edges[name].items() if d != name}
            if prepare is not None:
                for d, spec in deps.items():
                    await created[d].wait()
                    if d in out.errors and spec.get("required", True):
                        raise DependencyFailed(f"service {name}: dependency {d} failed to start: {out.errors[d]}")
                await _limited(limiter, prepare, name)
                created[name].set()
            async with anyio.create_task_group() as tg:
                failures: list[BaseException] = []

                async def guarded(d: str, s: dict) -> None:
                    try:
                        await wait_dep(name, d, s)
                    except ServiceFailed as e:
                        if s.get("required", True):
                            failures.append(e)
                            tg.cancel_scope.cancel()
                        elif progress:
                            progress(name, "Warning", f"optional dependency {d} not ready: {e}")

                for d, s in deps.items():
                    tg.start_soon(guarded, d, s)
            if failures:
                raise failures[0]
            out.containers[name] = list(await _limited(limiter, work, name))
        except ServiceFailed as e:
            out.errors[name] = e
        except Exception as e:  # noqa: BLE001 - engine errors are reported per service
            out.errors[name] = e
        finally:
            created[name].set()
            done[name].set()

    async with anyio.create_task_group() as tg:
        for n in services:
            tg.start_soon(one, n)
    return out


async def run_in_reverse_order(services: dict[str, dict], work: Callable[[str], Awaitable[None]],
                               parallel: int = -1) -> Outcome:
    """Stop/remove: a service's work starts once every service depending on it is done."""
    out = Outcome()
    done = {n: anyio.Event() for n in services}
    rdeps = ServiceGraph(services).dependents_map()
    limiter = _limiter(parallel)

    async def one(name: str) -> None:
        try:
            for d in rdeps.get(name, ()):
                await done[d].wait()
            await _limited(limiter, work, name)
        except Exception as e:  # noqa: BLE001 - collected, reported once
            out.errors[name] = e
        finally:
            done[name].set()

    async with anyio.create_task_group() as tg:
        for n in services:
            tg.start_soon(one, n)
    return out


async def wait_running(watch: Watch, containers: dict[str, list[str]], services: dict[str, dict],
                       timeout: float | None = None, progress: Progress | None = None,
                       not_ready: set[str] | None = None) -> None:
    """``up --wait``: every container running (healthy when it has a healthcheck).

    A one-shot service may have exited 0 when another waits on it with
    service_completed_successfully. Raises ServiceFailed or WaitTimeout.
    """
    one_shot = {d for deps in ServiceGraph(services).edges.values() for d, spec in deps.items()
                if spec.get("condition") == COMPLETED}
    pending = {cid: svc for svc, ids in containers.items() for cid in ids}
    failures: list[BaseException] = []
    if not_ready is not None:
        not_ready.update(pending.values())

    async def one(cid: str, svc: str, tg) -> None:
        try:
            status = await watch.until(cid, lambda i: running_or_healthy_decision(i, svc in one_shot))
            pending.pop(cid, None)
            if not_ready is not None and svc not in pending.values():
                not_ready.discard(svc)
            if progress:
                progress(cid, status, "")
        except ServiceFailed as e:
            failures.append(e)
            tg.cancel_scope.cancel()

    try:
        with anyio.fail_after(timeout) if timeout else _nullcontext():
            async with anyio.create_task_group() as tg:
                for cid, svc in list(pending.items()):
                    tg.start_soon(one, cid, svc, tg)
    except TimeoutError:
        names = sorted({svc for svc in pending.values()})
        raise WaitTimeout(f"timeout waiting for services to be running/healthy after {timeout:g}s: "
                          f"{', '.join(names)}") from None
    if failures:
        raise failures[0]


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

