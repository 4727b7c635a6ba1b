"""Typed engine errors; the CLI renders them as one line, exit code 1."""
from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine reports to its callers."""

    exit_code = 1


class NotFound(EngineError):
    """No such image, container, volume or network."""


class Conflict(EngineError):
    """The object is in use, already exists, or is in the wrong state."""


class InvalidArgument(EngineError):
    """A request the engine refuses (bad value, limit above what the host allows)."""


class UnsafeContent(EngineError):
    """An image layer or path tries to escape its root (``..``, escaping links, devices)."""


class SystemError_(EngineError):
    """A kernel call failed; the message names the call and the object."""
