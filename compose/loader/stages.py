"""Named loader stages, run in order, each one skippable (as compose-go's loader options do).

WHY: which stages run is data (a set of names), not boolean switches threaded through every
call: ``config --no-interpolate`` skips "interpolate", an ``extends`` base file skips
"extends", "include" and "validate", and so on. The stage lists themselves live with the
state they work on (compose.loader.pipeline, compose.loader.model_stages).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable


@dataclass(frozen=True)
class Stage:
    """One step of the loader: ``run(state)`` changes ``state`` in place."""

    name: str
    run: Callable[[Any], None]


def run_stages(stages: Iterable[Stage], state: Any, skip: frozenset[str] | set[str] = frozenset()) -> Any:
    """Run every stage not named in ``skip``, in order; ``state`` returned."""
    for stage in stages:
        if stage.name not in skip:
            stage.run(state)
    return state


def skipped_by_options(options) -> frozenset[str]:
    """The stages a LoadOptions switches off: its ``skip`` set plus the ``config`` flags' booleans."""
    off = set(options.skip)
    for flag, stages in (("interpolate", ("interpolate", "typing")), ("normalize", ("normalize",)),
                         ("resolve_paths", ("paths",)), ("consistency", ("consistency",)),
                         ("resolve_env_files", ("env_files",))):
        if not getattr(options, flag):
            off.update(stages)
    if options.all_resources:
        off.add("unused_resources")
    return frozenset(off)
