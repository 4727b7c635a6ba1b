"""A project's networks and volumes on the engine: made before its containers, found and
removed after them.

WHY apart from the backend: ``up``, ``run`` and ``down`` all need the same answers (which
engine name a key has, whether an external one exists, what carries the project's label),
and the engine bodies themselves come from compose.convert, next to the container body.
"""
from __future__ import annotations

from typing import Any

from compose import convert as cv
from compose.errors import ComposeError


def network_exists(engine: Any, name: str) -> bool:
    from engine.errors import NotFound

    try:
        engine.networks.inspect(name)
        return True
    except NotFound:
        return False


def ensure_networks(b: Any, dry_run: bool = False) -> None:
    """Create the project's networks that do not exist yet; an external one must exist."""
    for key, net in b.project.networks.items():
        name = cv.network_name(b.project, key)
        if (net or {}).get("external"):
            if not network_exists(b.engine, name):
                raise ComposeError(f"network {name} declared as external, but could not be found")
            continue
        if network_exists(b.engine, name):
            continue
        b.progress.event("Network", name, "Creating")
        if not dry_run:
            b.engine.networks.create(**cv.network_create(b.project, key))
        b.progress.event("Network", name, "Created")


def ensure_volumes(b: Any, dry_run: bool = False) -> None:
    """Create the project's volumes that do not exist yet; an external one must exist."""
    from engine.errors import NotFound

    for key, vol in b.project.volumes.items():
        name = cv.volume_name(b.project, key)
        try:
            b.engine.volumes.inspect(name)
            continue
        except NotFound:
            if (vol or {}).get("external"):
                raise ComposeError(f"external volume \"{name}\" not found") from None
        b.progress.event("Volume", name, "Creating")
        if not dry_run:
            b.engine.volumes.create(**cv.volume_create(b.project, key))
        b.progress.event("Volume", name, "Created")


def project_networks(b: Any) -> list[str]:
    """Networks labelled with the project, then the model's own non-external ones that exist."""
    names = []
    for n in b.engine.networks.list({"label": [f"{cv.PROJECT}={b.name}"]}):
        if (n.get("Labels") or {}).get(cv.PROJECT) == b.name:
            names.append(n["Name"])
    if b.project:
        for key, net in b.project.networks.items():
            if not (net or {}).get("external"):
                name = cv.network_name(b.project, key)
                if name not in names and network_exists(b.engine, name):
                    names.append(name)
    return names


def project_volumes(b: Any) -> list[str]:
    names = []
    for v in b.engine.volumes.list({"label": [f"{cv.PROJECT}={b.name}"]}):
        if (v.get("Labels") or {}).get(cv.PROJECT) == b.name:
            names.append(v["Name"])
    return names
