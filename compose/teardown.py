"""``down``: the project's containers stopped (dependents first) and removed, then its
networks, its volumes (-v) and its images (--rmi).

WHY apart from the backend: it is the one operation that works from labels alone (no
compose file, just -p), so it reads the engine's view rather than the model.
"""
from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread

from compose import convert as cv
from compose import resources
from compose import scheduler as sch
from compose.backend import labels


async def down(b: Any, opts: Any) -> None:
    """Stop and remove containers (dependents first), then networks, volumes (-v), images (--rmi)."""
    containers = await anyio.to_thread.run_sync(lambda: b.containers(all=True, oneoff=None))
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
    by_svc: dict[str, list[dict]] = {}
    for c in containers:
        by_svc.setdefault(labels(c).get(cv.SERVICE, ""), []).append(c)
    graph = {n: graph.get(n, {}) for n in set(graph) | set(by_svc)}

    async def stop(name: str) -> None:
        async with anyio.create_task_group() as tg:
            for c in by_svc.get(name, []):
                tg.start_soon(anyio.to_thread.run_sync, b._stop_container, c, opts.timeout)

    # stopping follows dependencies (dependents first); removing stopped containers does not
    outcome = await sch.run_in_reverse_order(graph, stop, b.parallel)
    outcome.raise_first()
    async with anyio.create_task_group() as tg:
        for c in containers:
            tg.start_soon(anyio.to_thread.run_sync, b._remove_container, c, opts.timeout, False,
                          opts.volumes)
    if opts.services:
        return
    await _remove_resources(b, opts, bool(containers))


async def _remove_resources(b: Any, opts: Any, removed_containers: bool) -> None:
    """Networks after the containers, volumes with -v, images with --rmi."""
    from compose.build import images_to_remove
    from engine.errors import NotFound

    networks = await anyio.to_thread.run_sync(resources.project_networks, b)
    volumes = await anyio.to_thread.run_sync(resources.project_volumes, b) if opts.volumes else []
    if not removed_containers and not networks and not volumes:
        b.progress.message(f'WARN[0000] No resource found to remove for project "{b.name}".')
    for net in networks:
        b.progress.event("Network", net, "Removing")
        try:
            await anyio.to_thread.run_sync(b.engine.networks.remove, net)
        except NotFound:
            pass
        b.progress.event("Network", net, "Removed")
    if opts.volumes:
        for vol in volumes:
            b.progress.event("Volume", vol, "Removing")
            try:
                await anyio.to_thread.run_sync(lambda: b.engine.volumes.remove(vol, force=True))
            except NotFound:
                pass
            b.progress.event("Volume", vol, "Removed")
    if opts.rmi in ("all", "local"):
        images = await anyio.to_thread.run_sync(lambda: images_to_remove(b, opts.rmi, opts.remove_orphans))
        for img in images:
            b.progress.event("Image", img, "Removing")
            try:
                await anyio.to_thread.run_sync(b.engine.images.remove, img)
                b.progress.event("Image", img, "Removed")
            except NotFound:
                b.progress.event("Image", img, "Removed")

