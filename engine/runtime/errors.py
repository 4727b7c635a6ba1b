"""Errors of starting a container process, with Docker's wording and exit status."""
from __future__ import annotations

from engine.errors import EngineError


class StartError(EngineError):
    """The container process could not be started.

    ``status`` is what Docker's CLI exits with for the same failure: 127 when the
    command is not found, 126 when it cannot be invoked, 125 for any other
    setup failure (mounts, namespaces, limits).
    """

    def __init__(self, message: str, status: int = 125):
        super().__init__(message)
        self.status = status
