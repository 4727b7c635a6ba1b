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


class DockerfileError(InvalidArgument):
    """A Dockerfile that cannot be parsed or dispatched: "Dockerfile:LINE: INSTRUCTION: what is wrong"."""

    def __init__(self, message: str, line: int | None = None, filename: str = "Dockerfile"):
        self.line = line
        self.filename = filename
        self.detail = message
        super().__init__(f"{filename}:{line}: {message}" if line else f"{filename}: {message}")


class RegistryError(EngineError):
    """A registry could not be used or answered with an error (pull, push, login, search)."""


class ImageNotFoundRemote(RegistryError, NotFound):
    """The registry has no such repository or manifest, or denies that it exists (Docker's words)."""


class Unauthorized(RegistryError):
    """The registry refused the credentials, or wants some and none are configured."""


class NoMatchingPlatform(RegistryError):
    """A multi-platform image offers no manifest for the platform asked for; the message lists what it offers."""


class RegistryUnreachable(RegistryError):
    """No connection to the registry (refused, DNS, timeout)."""


class RegistryTLSError(RegistryError):
    """The TLS handshake with a registry failed; the message names the host and its certs.d directory."""


class DigestMismatch(RegistryError):
    """Content from a registry does not match its digest or size; nothing of it is kept."""
