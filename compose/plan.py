"""Engine state + model -> what ``up`` must do for each service (pure).

Convergence like Docker Compose v2 (pkg/compose/convergence.go): containers
are matched to services by their labels; one whose config-hash or image
differs is recreated, a stopped one is started, an up-to-date running one is
left alone (so a second ``up`` with nothing changed changes nothing), extra
replicas go away highest number first, and containers of services that are
no longer in the file are orphans. ``--dry-run`` prints this plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from compose import convert as cv
from compose.graph import ServiceGraph

CREATE, RECREATE, START, NOOP, REMOVE = "create", "recreate", "start", "noop", "remove"


@dataclass
class Action:
    """One step for one container of a service."""

    kind: str
    service: str
    number: int
    container: dict | None = None   # the existing container (Docker /containers/json shape)
    reason: str = ""

    @property
    def name(self) -> str:
        if self.container:
            names = self.container.get("Names") or [""]
            return names[0].lstrip("/")
        return ""


@dataclass
class PlanOptions:
    force_recreate: bool = False
    no_recreate: bool = False
    scale: dict[str, int] = field(default_factory=dict)   # --scale SVC=N
    remove_orphans: bool = False
    always_recreate_deps: bool = False
    # services --force-recreate applies to (None: all); dependencies pulled in are only
    # recreated when they diverged, unless --always-recreate-deps (Compose's RecreateDependencies)
    force_services: set[str] | None = None


@dataclass
class Plan:
    """Actions per service (in model order), plus the orphan containers."""

    services: dict[str, list[Action]]
    orphans: list[dict] = field(default_factory=list)
    remove_orphans: bool = False

    def actions(self) -> list[Action]:
        return [a for acts in self.services.values() for a in acts]

    @property
    def changes_nothing(self) -> bool:
        return all(a.kind == NOOP for a in self.actions()) and not (self.orphans and self.remove_orphans)

    def describe(self) -> list[str]:
        """Human lines for ``--dry-run``: one per container step."""
        lines = []
        for a in self.actions():
            what = a.name or f"#{a.number}"
            text = {CREATE: "create", RECREATE: "recreate", START: "start", NOOP: "up to date",
                    REMOVE: "remove (scale down)"}[a.kind]
            lines.append(f"{a.service:<20} {what:<30} {text}" + (f" ({a.reason})" if a.reason else ""))
        for o in self.orphans:
            name = (o.get("Names") or ["?"])[0].lstrip("/")
            svc = (o.get("Labels") or {}).get(cv.SERVICE, "?")
            lines.append(f"{svc:<20} {name:<30} " + ("remove (orphan)" if self.remove_orphans else "orphan (kept)"))
        return lines


def replicas(service: dict, override: int | None = None) -> int:
    """How many containers the service wants: --scale, else ``scale``, else ``deploy.replicas``, else 1."""
    if override is not None:
        return override
    if service.get("scale") is not None:
        return int(service["scale"])
    rep = (service.get("deploy") or {}).get("replicas")
    return 1 if rep is None else int(rep)


def number_of(container: dict) -> int:
    try:
        return int((container.get("Labels") or {}).get(cv.NUMBER, "0"))
    except ValueError:
        return 0


def is_running(container: dict) -> bool:
    return container.get("State") in ("running", "restarting", "paused")


def containers_by_service(containers: Iterable[dict], project: str) -> dict[str, list[dict]]:
    """This project's service containers (not one-off ``run`` ones), grouped, sorted by number."""
    out: dict[str, list[dict]] = {}
    for c in containers:
        labels = c.get("Labels") or {}
        if labels.get(cv.PROJECT) != project or labels.get(cv.ONEOFF) == "True":
            continue
        out.setdefault(labels.get(cv.SERVICE, ""), []).append(c)
    for lst in out.values():
        lst.sort(key=number_of)
    return out


def _why_recreate(c: dict, want_hash: str, want_image: str | None, opts: PlanOptions, service: str = "") -> str:
    labels = c.get("Labels") or {}
    if opts.force_recreate and (opts.force_services is None or service in opts.force_services):
        return "--force-recreate"
    if opts.always_recreate_deps and opts.force_services is not None and service not in opts.force_services:
        return "--always-recreate-deps"
    if labels.get(cv.CONFIG_HASH) != want_hash:
        return "configuration changed"
    if want_image and labels.get(cv.IMAGE) and labels.get(cv.IMAGE) != want_image:
        return "image changed"
    return ""


def make_plan(project: str, services: dict[str, dict], containers: Iterable[dict], hashes: dict[str, str],
              image_ids: dict[str, str] | None = None, opts: PlanOptions | None = None,
              all_services: Iterable[str] | None = None) -> Plan:
    """Plan ``up`` for ``services`` (name -> canonical service) against the engine's ``containers``.

    ``hashes``: the expected config-hash per service; ``image_ids``: the engine's image id per
    service (a different id on an existing container means the image changed); ``all_services``:
    every service the project defines (containers of other services are orphans).
    """
    opts = opts or PlanOptions()
    image_ids = image_ids or {}
    by_service = containers_by_service(containers, project)
    plan: dict[str, list[Action]] = {}
    recreated: set[str] = set()
    for name in ServiceGraph(services).dependencies_first():
        svc = services[name]
        want = replicas(svc, opts.scale.get(name))
        existing = list(by_service.get(name, []))
        actions: list[Action] = []
        # scale down: the highest numbers go first
        keep = existing[:want] if want >= 0 else existing
        for c in reversed(existing[len(keep):]):
            actions.append(Action(REMOVE, name, number_of(c), c, f"scale to {want}"))
        dep_restart = [d for d, spec in (svc.get("depends_on") or {}).items()
                       if (spec or {}).get("restart") and d in recreated]
        for c in keep:
            why = "" if opts.no_recreate else _why_recreate(c, hashes.get(name, ""), image_ids.get(name), opts, name)
            if not why and dep_restart and not opts.no_recreate:
                why = f"dependency {dep_restart[0]} recreated"
            if why:
                actions.append(Action(RECREATE, name, number_of(c), c, why))
                recreated.add(name)
            elif not is_running(c):
                actions.append(Action(START, name, number_of(c), c))
            else:
                actions.append(Action(NOOP, name, number_of(c), c))
        used = {number_of(c) for c in keep}
        n = 1
        for _ in range(want - len(keep)):
            while n in used:
                n += 1
            used.add(n)
            actions.append(Action(CREATE, name, n))
            recreated.add(name)
        plan[name] = actions
    ordered = {name: plan[name] for name in services}
    known = set(all_services) if all_services is not None else set(services)
    orphans = [c for svc, lst in by_service.items() if svc not in known for c in lst]
    return Plan(ordered, orphans, opts.remove_orphans)
