"""``Containers.remove_many`` (``compose down``): one supervisor request stops and removes them all.

Why a request of its own: one stop and one remove per container cost two round trips each and
let every exit tear its network down on its own; the supervisor's ``remove_many``
(engine.supervisor.removal) stops wave by wave and releases all endpoints in one batch.
Without a running supervisor nothing runs, so the records are removed here, one by one.
"""
from __future__ import annotations

from typing import Any, Callable

from engine import errors
from engine.errors import EngineError

Progress = Callable[[str, str], None]


def remove_many(containers: Any, engine: Any, waves: list[list[str]], timeouts: dict[str, int | None],
                volumes: bool, progress: Progress | None) -> dict[str, EngineError]:
    """See ``Containers.remove_many``."""
    ids = [cid for wave in waves for cid in wave]
    if not ids:
        return {}
    if not engine.supervisor_running():  # nothing runs: no daemon started just to delete records
        return _remove_each(containers, ids, volumes, progress)
    request = [[{"id": cid, "timeout": timeouts.get(cid)} for cid in wave] for wave in waves]
    failed: dict[str, EngineError] = {}
    done = False
    for line in engine.supervisor.remove_many(request, volumes=volumes):
        cid, step = str(line.get("id") or ""), line.get("event")
        if line.get("done"):
            done = True
            if line.get("error"):  # the containers are gone, their network may not be
                raise EngineError(str(line["error"]))
        elif step == "error":
            failed[cid] = error_of(line)
        elif step and progress is not None:
            progress(cid, str(step))
    if not done:
        raise EngineError("the container supervisor ended before removing every container "
                          "(see its log: run/supervisor.log)")
    return failed


def _remove_each(containers: Any, ids: list[str], volumes: bool, progress: Progress | None,
                 ) -> dict[str, EngineError]:
    failed: dict[str, EngineError] = {}
    for cid in ids:
        try:
            if progress is not None:
                progress(cid, "removing")
            containers.remove(cid, force=True, volumes=volumes)
        except EngineError as e:
            failed[cid] = e
            continue
        if progress is not None:
            progress(cid, "removed")
    return failed


def error_of(line: dict) -> EngineError:
    """The typed error a ``remove_many`` line reports (NotFound, Conflict, ...; EngineError otherwise)."""
    cls = getattr(errors, str(line.get("kind") or ""), None)
    message = str(line.get("error") or "removal failed")
    if not (isinstance(cls, type) and issubclass(cls, EngineError)):
        return EngineError(message)
    try:
        return cls(message)
    except TypeError:  # an error class that takes other arguments
        return EngineError(message)
