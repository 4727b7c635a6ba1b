"""The compose operations (up, down, start, stop, ps, ...) over a project and engine.api.

Like Docker Compose v2's pkg/compose: each command of the CLI is a method here
taking an options dataclass, so the CLI modules only parse flags and print.
Everything about "which containers belong to this project" comes from the
engine's labels, so ``down``, ``ps`` and ``logs`` work with just a project
name, and a second ``up`` finds what the first one made.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from compose import convert as cv
from compose import plan as pl
from compose.errors import ComposeError, UsageError
from compose.options import ServiceOptions
from compose.project import Project
from compose.render.progress import Progress, QuietProgress


class _Lazy:
    """anyio and the scheduler load on first use: read-only commands (ps) never pay for them."""

    def __init__(self, name: str, *also: str):
        self._name, self._also, self._mod = name, also, None

    def __getattr__(self, attr: str):
        if self._mod is None:
            import importlib

            for extra in self._also:
                importlib.import_module(extra)
            self._mod = importlib.import_module(self._name)
        return getattr(self._mod, attr)


anyio = _Lazy("anyio", "anyio.to_thread", "anyio.from_thread")
sch = _Lazy("compose.scheduler")


class NoSuchService(ComposeError):
    """A service name on the command line that the project does not define."""


class NoContainer(ComposeError):
    """The service has no (running) container to act on."""


# ------------------------------------------------------------- project

def load_project(gopts: Any, services: Iterable[str] = ()) -> Project:
    """Run the loader with the global options (-f, -p, --profile, --env-file, --project-directory);
    ``services`` named on the command line are enabled even when their profile is not."""
    from compose.loader import LoadOptions, load

    return load(LoadOptions.from_global(gopts, services=list(services)))


def project_name_only(gopts: Any) -> str | None:
    """``-p`` or ``COMPOSE_PROJECT_NAME``, for commands that may work from labels alone."""
    return gopts.project_name or os.environ.get("COMPOSE_PROJECT_NAME") or None


def short_name(c: dict) -> str:
    if c.get("Names"):
        return c["Names"][0].lstrip("/")
    return (c.get("Name") or c.get("Id", "")[:12]).lstrip("/")


def labels(c: dict) -> dict:
    return c.get("Labels") or (c.get("Config") or {}).get("Labels") or {}


# ------------------------------------------------------------- options

@dataclass
class UpOptions(ServiceOptions):
    no_deps: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    always_recreate_deps: bool = False
    no_start: bool = False
    remove_orphans: bool = False
    renew_anon_volumes: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    timeout: int | None = None
    wait: bool = False
    wait_timeout: float | None = None
    dry_run: bool = False
    parallel: int = -1


@dataclass
class DownOptions:
    volumes: bool = False
    remove_orphans: bool = False
    rmi: str | None = None
    timeout: int | None = None
    services: list[str] = field(default_factory=list)
    dry_run: bool = False


@dataclass
class UpResult:
    containers: dict[str, list[str]]
    plan: pl.Plan | None = None


# ------------------------------------------------------------- the backend

class _no_deadline:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Compose:
    """Compose operations on one project; ``project`` may be None for label-only commands."""

    def __init__(self, engine: Any, project: Project | None = None, name: str | None = None,
                 progress: Progress | None = None, parallel: int = -1):
        self.engine = engine
        self.project = project
        self.name = project.name if project else name
        if not self.name:
            raise UsageError("no project name: give -p NAME or run where a compose file is")
        self.progress = progress or QuietProgress()
        self.parallel = parallel

    # ------------------------------------------------ queries
    def containers(self, services: Iterable[str] | None = None, all: bool = True, oneoff: bool | None = False,
                   ) -> list[dict]:
        """This project's containers (Docker /containers/json dicts), by service then number."""
        flt = {"label": [f"{cv.PROJECT}={self.name}"]}
        found = self.engine.containers.list(all=all, filters=flt)
        wanted = set(services or [])
        out = []
        for c in found:
            lb = labels(c)
            if lb.get(cv.PROJECT) != self.name:
                continue
            if oneoff is not None and (lb.get(cv.ONEOFF) == "True") != oneoff:
                continue
            if wanted and lb.get(cv.SERVICE) not in wanted:
                continue
            out.append(c)
        order = list(self.project.services) if self.project else []
        out.sort(key=lambda c: (order.index(labels(c).get(cv.SERVICE)) if labels(c).get(cv.SERVICE) in order else len(order),
                                labels(c).get(cv.SERVICE, ""), pl.number_of(c)))
        return out

    def check_services(self, names: Iterable[str]) -> None:
        if self.project is None:
            return
        for n in names:
            if n not in self.project.services:
                raise NoSuchService(f"no such service: {n}")

    def with_dependencies(self, names: Iterable[str]) -> list[str]:
        """``names`` and everything they depend on (transitively), in model order."""
        return self.project.graph.in_model_order(names)

    def service_graph_from_labels(self, containers: list[dict]) -> dict[str, dict]:
        """service -> {depends_on} rebuilt from the depends_on label, for label-only ``down``."""
        out: dict[str, dict] = {}
        for c in containers:
            lb = labels(c)
            deps = {}
            for part in filter(None, (lb.get(cv.DEPENDS_ON) or "").split(",")):
                d, _, rest = part.partition(":")
                deps[d] = {"condition": rest.split(":")[0] or sch.STARTED}
            out.setdefault(lb.get(cv.SERVICE, ""), {"depends_on": deps})
        return out

    # ------------------------------------------------ networks / volumes
    def ensure_networks(self, dry_run: bool = False) -> None:
        from compose.resources import ensure_networks

        ensure_networks(self, dry_run)

    def ensure_volumes(self, dry_run: bool = False) -> None:
        from compose.resources import ensure_volumes

        ensure_volumes(self, dry_run)

    # ------------------------------------------------ up
    def hashes(self, names: Iterable[str]) -> dict[str, str]:
        from compose.hash import service_hash

        return {n: service_hash(n, self.project.services[n]) for n in names}

    def image_ids(self, names: Iterable[str]) -> dict[str, str]:
        from engine.errors import NotFound

        out: dict[str, str] = {}
        seen: dict[str, str] = {}  # most services share a few images: inspect each once
        for n in names:
            image = self.image_name(n)
            if image in seen:
                out[n] = seen[image]
                continue
            if not image:
                raise ComposeError(f"service {n!r} has no image: pycompose runs images loaded with "
                                   f"'pycompose image load' or imported with 'pycompose image import'")
            try:
                out[n] = seen[image] = self.engine.images.inspect(image)["Id"]
            except NotFound:
                if image in getattr(self, "dry_run_images", ()):  # up --dry-run: it would be pulled
                    out[n] = seen[image] = ""
                    continue
                if self.project.services[n].get("build") is not None:
                    raise ComposeError(f"service {n!r}: image {image} not found; build it with "
                                       f"'pycompose build {n}' (up --no-build does not build)") from None
                raise ComposeError(f"service {n!r}: image {image} not found; load it first with "
                                   f"'pycompose image load -i <archive>'") from None
        return out

    def image_name(self, name: str) -> str:
        """The image a service runs: ``image:``, or ``<project>-<service>`` when it has only ``build:``."""
        s = self.project.services[name]
        return s.get("image") or (f"{self.name}-{name}" if s.get("build") is not None else "")

    def convert(self, names: Iterable[str]) -> None:
        """Convert every service once, before touching the engine: a bad value (duration, size,
        restart policy) fails the command with nothing created; each container's body is then
        this one with its own identity (``_prepare``)."""
        self.bodies = {n: cv.service_body(self.project, n, self.project.services[n]) for n in names}

    def make_plan(self, opts: UpOptions) -> tuple[pl.Plan, list[str], dict[str, str], dict[str, str]]:
        self.check_services(opts.services)
        for s in opts.scale:
            self.check_services([s])
        selected = list(opts.services) if opts.no_deps and opts.services else \
            self.with_dependencies(opts.services or list(self.project.services))
        services = {n: self.project.services[n] for n in selected}
        self.convert(selected)
        hashes = self.hashes(selected)
        images = self.image_ids(selected)
        existing = self.containers(all=True)
        popts = pl.PlanOptions(force_recreate=opts.force_recreate, no_recreate=opts.no_recreate,
                               scale=opts.scale, remove_orphans=opts.remove_orphans,
                               always_recreate_deps=opts.always_recreate_deps,
                               force_services=set(opts.services) if opts.services else None)
        plan = pl.make_plan(self.name, services, existing, hashes, images, popts,
                            all_services=self.project.all_services or list(self.project.services))
        return plan, selected, hashes, images

    def warn_orphans(self, orphans: list[dict]) -> None:
        names = ", ".join(short_name(o) for o in orphans)
        self.progress.message(f"WARN[0000] Found orphan containers ([{names}]) for this project. If you removed "
                              f"or renamed this service in your compose file, you can run this command with the "
                              f"--remove-orphans flag to clean it up.")

    def project_lock(self):
        """Held while a command changes this project (up, down, create, run's dependencies): two at
        once run one after the other, so a replica never gets two containers. The waiter is told
        who holds it; the lock goes with its holder's process, even a killed one."""
        lock = getattr(self.engine, "lock", None)
        if lock is None:  # an engine without locks (the unit tests' fakes)
            import contextlib

            return contextlib.nullcontext()

        def busy(pid: int | None) -> None:
            who = f" (pid {pid})" if pid else ""
            self.progress.message(f'project "{self.name}" is locked by another pycompose command{who}: '
                                  f"waiting for it to finish")
        return lock(f"project-{self.name}", on_busy=busy)

    async def up(self, opts: UpOptions) -> UpResult:
        """``_up`` under the project lock (see ``project_lock``)."""
        if opts.dry_run:
            return await self._up(opts)
        with self.project_lock():
            return await self._up(opts)

    async def _up(self, opts: UpOptions) -> UpResult:
        """Converge the project: networks, volumes, then every service by its own dependencies."""
        plan, selected, hashes, images = await anyio.to_thread.run_sync(self.make_plan, opts)
        if opts.dry_run:
            return UpResult({}, plan)
        await anyio.to_thread.run_sync(self.ensure_networks)
        await anyio.to_thread.run_sync(self.ensure_volumes)
        if plan.orphans:
            if opts.remove_orphans:
                for o in plan.orphans:
                    await anyio.to_thread.run_sync(self._remove_container, o, opts.timeout, True)
            else:
                self.warn_orphans(plan.orphans)
        services = {n: self.project.services[n] for n in selected}
        ids: dict[str, list[str]] = {}

        prepared: dict[str, list[tuple[str, str, bool]]] = {}

        async def prepare(name: str) -> None:
            result = []
            for action in plan.services[name]:
                r = await anyio.to_thread.run_sync(self._prepare, action, hashes[name], images[name], ids, opts)
                if r:
                    result.append(r)
            prepared[name] = result
            ids[name] = [cid for cid, _, _ in result]

        started: set[str] = set()
        batcher = None

        async def work(name: str) -> list[str]:
            await batcher.start([(cid, cname) for cid, cname, must_start in prepared[name] if must_start])
            started.add(name)
            return ids[name]

        async with sch.Watch(self.engine, {"label": [f"{cv.PROJECT}={self.name}"]}) as watch:
            deadline = opts.wait_timeout if opts.wait and opts.wait_timeout else None
            not_ready: set[str] = set()
            try:
                # --wait-timeout bounds the whole start, dependency gates included
                with anyio.fail_after(deadline) if deadline else _no_deadline():
                    async with anyio.create_task_group() as tg:
                        from compose.startbatch import StartBatcher

                        batcher = StartBatcher(self.engine, tg, lambda name, status: self.progress.event(
                            "Container", name, status))
                        outcome = await sch.run_in_dependency_order(
                            services, work, watch, parallel=opts.parallel if opts.parallel else self.parallel,
                            progress=self._container_progress, check_conditions=not opts.no_start,
                            prepare=prepare)
                    for svc in outcome.errors:  # the reason is printed once, as the command's error
                        self.progress.event("Service", svc, "Error")
                    outcome.raise_first()
                    if opts.wait and not opts.no_start:
                        await sch.wait_running(watch, outcome.containers, services,
                                               progress=self._container_progress, not_ready=not_ready)
            except TimeoutError:
                waiting = [n for n in selected if n not in started] or sorted(not_ready) or selected
                raise sch.WaitTimeout(f"timeout waiting for services to be running/healthy after "
                                      f"{deadline:g}s: {', '.join(waiting)}") from None
        return UpResult(outcome.containers, plan)

    def _container_progress(self, cid_or_name: str, status: str, detail: str) -> None:
        name = self._names.get(cid_or_name, cid_or_name) if hasattr(self, "_names") else cid_or_name
        self.progress.event("Container", name, status, detail)

    def _remember(self, cid: str, name: str) -> None:
        if not hasattr(self, "_names"):
            self._names: dict[str, str] = {}
        self._names[cid] = name

    def _prepare(self, action: pl.Action, config_hash: str, image_id: str, ids: dict[str, list[str]],
                 opts: UpOptions) -> tuple[str, str, bool] | None:
        """Do one plan step short of starting (blocking): (id, name, must start) of the container
        that stays, or None when the step removed it."""
        name = action.service
        service = self.project.services[name]
        c = action.container
        if action.kind == pl.REMOVE:
            self._remove_container(c, opts.timeout, True)
            return None
        if action.kind == pl.NOOP:
            self._remember(c["Id"], short_name(c))
            self.progress.event("Container", short_name(c), "Running")
            return c["Id"], short_name(c), False
        if action.kind == pl.START:
            self._remember(c["Id"], short_name(c))
            if opts.no_start:
                self.progress.event("Container", short_name(c), "Created")
            return c["Id"], short_name(c), not opts.no_start
        cname = cv.container_name(self.name, name, service, action.number)
        if action.kind == pl.RECREATE:
            self.progress.event("Container", cname, "Recreate")
            self.engine.containers.stop(c["Id"], timeout=self._stop_timeout(service, opts.timeout))
            self.engine.containers.remove(c["Id"], force=True, volumes=opts.renew_anon_volumes)
        else:
            self.progress.event("Container", cname, "Creating")
        shared = {svc: lst[0] for svc, lst in ids.items() if lst}
        extra = cv.Extra(number=action.number, config_hash=config_hash, image_id=image_id,
                         service_containers=shared)
        body = cv.container_body(self.bodies[name], extra)
        cid = self.engine.containers.create(body, name=cname)
        self._remember(cid, cname)
        self.progress.event("Container", cname, "Recreated" if action.kind == pl.RECREATE else "Created")
        return cid, cname, not opts.no_start

    def _start(self, cid: str, name: str) -> None:
        self.progress.event("Container", name, "Starting")
        self.engine.containers.start(cid)
        self.progress.event("Container", name, "Started")

    @staticmethod
    def _stop_timeout(service: dict | None, override: int | None) -> int | None:
        if override is not None:
            return override
        if service:
            return cv.stop_timeout_seconds(service)
        return None

    def _stop_container(self, c: dict, timeout: int | None) -> None:
        if c.get("State") in ("running", "restarting", "paused"):
            name = short_name(c)
            svc = (self.project.services.get(labels(c).get(cv.SERVICE)) if self.project else None)
            self.progress.event("Container", name, "Stopping")
            self.engine.containers.stop(c["Id"], timeout=self._stop_timeout(svc, timeout))
            self.progress.event("Container", name, "Stopped")

    def _remove_container(self, c: dict, timeout: int | None, stop: bool, volumes: bool = False) -> None:
        name = short_name(c)
        svc = (self.project.services.get(labels(c).get(cv.SERVICE)) if self.project else None)
        if stop and c.get("State") in ("running", "restarting", "paused"):
            self.progress.event("Container", name, "Stopping")
            self.engine.containers.stop(c["Id"], timeout=self._stop_timeout(svc, timeout))
            self.progress.event("Container", name, "Stopped")
        self.progress.event("Container", name, "Removing")
        self.engine.containers.remove(c["Id"], force=True, volumes=volumes)
        self.progress.event("Container", name, "Removed")

    # ------------------------------------------------ down
    async def down(self, opts: DownOptions) -> None:
        """``_down`` under the project lock (see ``project_lock``)."""
        from compose.teardown import down

        with self.project_lock():
            await down(self, opts)

    # ------------------------------------------------ lifecycle
    def pick(self, services: Iterable[str] | None, states: Iterable[str] | None = None,
             oneoff: bool | None = False) -> list[dict]:
        services = list(services or [])
        self.check_services(services)
        cs = self.containers(services or None, all=True, oneoff=oneoff)
        if states is not None:
            st = set(states)
            cs = [c for c in cs if c.get("State") in st]
        return cs

    def each(self, containers: list[dict], fn: Callable[[dict], None], doing: str, done: str) -> None:
        """Apply ``fn`` to containers concurrently (threads), reporting progress per container."""
        async def main():
            limiter = anyio.CapacityLimiter(self.parallel) if self.parallel and self.parallel > 0 else None
            errors: list[BaseException] = []

            async def one(c):
                self.progress.event("Container", short_name(c), doing)
                try:
                    if limiter:
                        async with limiter:
                            await anyio.to_thread.run_sync(fn, c)
                    else:
                        await anyio.to_thread.run_sync(fn, c)
                except Exception as e:  # noqa: BLE001 - reported per container, first one raised
                    self.progress.event("Container", short_name(c), "Error", str(e))
                    errors.append(e)
                    return
                self.progress.event("Container", short_name(c), done)

            async with anyio.create_task_group() as tg:
                for c in containers:
                    tg.start_soon(one, c)
            if errors:
                raise errors[0]

        anyio.run(main)

    def in_stop_order(self, containers: list[dict], fn: Callable[[dict], None], doing: str, done: str) -> None:
        """Like ``each`` but dependents first (stop, kill)."""
        graph = self.service_graph_from_labels(containers)
        if self.project:
            graph.update({n: s for n, s in self.project.services.items() if n in graph})
        by_svc: dict[str, list[dict]] = {}
        for c in containers:
            by_svc.setdefault(labels(c).get(cv.SERVICE, ""), []).append(c)

        async def work(name):
            await anyio.to_thread.run_sync(self.each, by_svc.get(name, []), fn, doing, done)

        outcome = anyio.run(sch.run_in_reverse_order, graph, work, self.parallel)
        outcome.raise_first()

    def stop_timeout(self, c: dict, override: int | None) -> int | None:
        svc = self.project.services.get(labels(c).get(cv.SERVICE)) if self.project else None
        return self._stop_timeout(svc, override)

    def start_services(self, services: list[str], wait: bool = False, wait_timeout: float | None = None) -> None:
        """``start``: existing containers, in dependency order, gated on conditions like up."""
        existing = self.pick(services)
        if not existing:
            raise NoContainer("no containers to start" if not services else
                              f"service {services[0]!r} has no container to start")
        by_svc: dict[str, list[dict]] = {}
        for c in existing:
            by_svc.setdefault(labels(c).get(cv.SERVICE, ""), []).append(c)
        graph = self.service_graph_from_labels(existing)
        if self.project:
            graph.update({n: s for n, s in self.project.services.items() if n in graph})

        async def work(name):
            ids = []
            for c in by_svc.get(name, []):
                if c.get("State") not in ("running", "restarting", "paused"):
                    self.progress.event("Container", short_name(c), "Starting")
                    await anyio.to_thread.run_sync(self.engine.containers.start, c["Id"])
                    self.progress.event("Container", short_name(c), "Started")
                ids.append(c["Id"])
            return ids

        async def main():
            async with sch.Watch(self.engine, {"label": [f"{cv.PROJECT}={self.name}"]}) as watch:
                out = await sch.run_in_dependency_order(graph, work, watch, self.parallel)
                out.raise_first()
                if wait:
                    await sch.wait_running(watch, out.containers, graph, wait_timeout)

        anyio.run(main)

    # ------------------------------------------------ one container
    def container_of(self, service: str, index: int = 1, running: bool = True, oneoff: bool = False) -> dict:
        self.check_services([service])
        cs = self.containers([service], all=not running, oneoff=oneoff)
        if running:
            cs = [c for c in cs if c.get("State") in ("running", "restarting", "paused")]
        for c in cs:
            if pl.number_of(c) == index:
                return c
        if not cs:
            raise NoContainer(f"service \"{service}\" is not running")
        raise NoContainer(f"service \"{service}\" has no container number {index}")


# ------------------------------------------------------------- for the CLI modules

def open_engine() -> Any:
    """The engine of ``$PYCOMPOSE_ROOT`` (or /var/lib/pycompose)."""
    from engine.api import Engine

    return Engine()


def open_backend(gopts: Any, need_project: bool = True, title: str = "Running",
                 progress: Progress | None = None, services: Iterable[str] = (), labels_only: bool = False) -> Compose:
    """Load the project (or, when allowed, just take ``-p NAME``) and wire engine + progress.

    Commands such as ``down``, ``ps`` and ``logs`` work from labels alone when there is no
    compose file but a project name is given, as in Docker Compose.
    """
    from compose.render.progress import make_progress

    project = None
    name = project_name_only(gopts) if labels_only and not need_project and not gopts.files else None
    if name is None:
        # ``labels_only``: read-only views (ps, logs, top...) given -p need nothing from the file,
        # and loading it (schema, graph) costs more than the whole answer
        try:
            project = load_project(gopts, services)
        except ComposeError:
            name = project_name_only(gopts)
            if need_project or not name:
                raise
    if progress is None:
        progress = make_progress(gopts.progress, title=title)
    return Compose(open_engine(), project, name=name, progress=progress, parallel=gopts.parallel)
