"""``down``: the project's containers stopped (dependents first) and removed, then its
networks, its volumes (-v) and its images (--rmi).

WHY apart from the backend: it is the one operation that works from labels alone (no
compose file, just -p), so it reads the engine's view rather than the model.
"""
from __future__ import annotations

from typing import Any

from compose import convert as cv
from compose import resources
from compose.backend import labels, short_name
from compose.graph import ServiceGraph


# what each step of a container's removal shows, as Docker Compose prints it
STEPS = {"stopping": "Stopping", "stopped": "Stopped", "removing": "Removing", "removed": "Removed"}


async def down(b: Any, opts: Any) -> None:
    """``down_sync`` from an event loop (Backend.down; the ``down`` command calls ``down_locked``)."""
    import anyio.to_thread

    await anyio.to_thread.run_sync(down_sync, b, opts)


def down_locked(b: Any, opts: Any) -> None:
    """``down`` under the project lock, without an event loop: one engine call removes the
    containers, so ``down`` needs neither threads nor anyio (its import is a third of the start-up)."""
    with b.project_lock():
        down_sync(b, opts)


def down_sync(b: Any, opts: Any) -> None:
    """Stop and remove containers (dependents first), then networks, volumes (-v), images (--rmi)."""
    containers = b.containers(all=True, oneoff=None)
    known = set(b.project.all_services or b.project.services) if b.project else None
    if known is not None and not opts.remove_orphans:
        orphans = [c for c in containers if labels(c).get(cv.SERVICE) not in known
                   and labels(c).get(cv.ONEOFF) != "True"]
        if orphans:
            b.warn_orphans(orphans)
        containers = [c for c in containers if c not in orphans]
    if opts.services:
        containers = [c for c in containers if labels(c).get(cv.SERVICE) in opts.services]
    graph = b.service_graph_from_labels(containers)
    if b.project:
        for n, s in b.project.services.items():
            graph[n] = s
    _remove_containers(b, opts, containers, graph)
    if opts.services:
        return
    _remove_resources(b, opts, bool(containers))


def stop_waves(graph: dict[str, dict], services: list[str]) -> list[list[str]]:
    """``services`` in the waves ``down`` stops them in: a service after every service that
    depends on it (Compose stops dependents first), as many at once as the graph allows."""
    dependents = ServiceGraph(graph).dependents_map()
    depth: dict[str, int] = {}

    def depth_of(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            deeper = [depth_of(d, seen | {name}) for d in dependents.get(name, ()) if d not in seen]
            depth[name] = 1 + max(deeper) if deeper else 0
        return depth[name]

    waves: dict[int, list[str]] = {}
    for name in services:
        waves.setdefault(depth_of(name), []).append(name)
    return [waves[k] for k in sorted(waves)]


def _remove_containers(b: Any, opts: Any, containers: list[dict], graph: dict[str, dict]) -> None:
    """Every container stopped (dependents first, as many at once as --parallel allows) and
    removed in one engine call; a container that went away meanwhile is no error."""
    from engine.errors import NotFound

    by_svc: dict[str, list[dict]] = {}
    for c in containers:
        by_svc.setdefault(labels(c).get(cv.SERVICE, ""), []).append(c)
    graph = {n: graph.get(n, {}) for n in set(graph) | set(by_svc)}
    waves: list[list[str]] = []
    for wave in stop_waves(graph, [n for n in graph if n in by_svc]):
        ids = [c["Id"] for name in wave for c in by_svc[name]]
        step = b.parallel if b.parallel and b.parallel > 0 else len(ids) or 1
        waves.extend(ids[i:i + step] for i in range(0, len(ids), step))
    names = {c["Id"]: short_name(c) for c in containers}
    services = b.project.services if b.project else {}
    timeouts = {c["Id"]: b._stop_timeout(services.get(labels(c).get(cv.SERVICE)), opts.timeout)
                for c in containers}

    def progress(cid: str, step: str) -> None:
        if cid in names and step in STEPS:
            b.progress.event("Container", names[cid], STEPS[step])

    errors = b.engine.containers.remove_many(waves, timeouts, volumes=opts.volumes, progress=progress)
    for cid, e in errors.items():
        if not isinstance(e, NotFound):
            b.progress.event("Container", names.get(cid, cid[:12]), "Error")
            raise e


def _remove_resources(b: Any, opts: Any, removed_containers: bool) -> None:
    """Networks after the containers, volumes with -v, images with --rmi."""
    from engine.errors import NotFound

    networks = resources.project_networks(b)
    volumes = resources.project_volumes(b) if opts.volumes else []
    if not removed_containers and not networks and not volumes:
        b.progress.message(f'WARN[0000] No resource found to remove for project "{b.name}".')
    for kind, names, remove in (("Network", networks, b.engine.networks.remove),
                                ("Volume", volumes, lambda v: b.engine.volumes.remove(v, force=True))):
        for name in names:
            b.progress.event(kind, name, "Removing")
            try:
                remove(name)
            except NotFound:
                pass
            b.progress.event(kind, name, "Removed")
    if opts.rmi in ("all", "local"):
        from compose.build import images_to_remove

        for img in images_to_remove(b, opts.rmi, opts.remove_orphans):
            b.progress.event("Image", img, "Removing")
            try:
                b.engine.images.remove(img)
            except NotFound:
                pass
            b.progress.event("Image", img, "Removed")
