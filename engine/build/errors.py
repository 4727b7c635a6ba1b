"""Build failures, rendered by the CLI like BuildKit's ``ERROR: failed to solve: ...``."""
from __future__ import annotations

from engine.errors import EngineError


class BuildError(EngineError):
    """A build that failed; ``details`` is the Dockerfile excerpt BuildKit prints before the error."""

    def __init__(self, message: str, details: str = "", exit_code: int = 1):
        super().__init__(message)
        self.details = details
        self.step_exit_code = exit_code


class Canceled(BuildError):
    """A step stopped because another stage of the same build failed (BuildKit's CANCELED)."""

    def __init__(self):
        super().__init__("canceled")
