"""The base of ``Engine.images``, ``.containers``, ``.volumes`` and ``.networks``.

Why a base: each resource keeps its engine (data root, container records, supervisor) and the
store behind it private, so callers see only the Docker-shaped verbs; ``_open`` builds the store.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.api.facade import Engine

__all__: list[str] = []  # internal to engine.api


class EngineResource:
    """One resource of an ``Engine``; ``_open(engine)`` sets up what it works on."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._open(engine)

    def _open(self, engine: Engine) -> None:
        raise NotImplementedError
