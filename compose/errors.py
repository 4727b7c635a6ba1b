"""Typed errors of the compose layer, rendered once at the CLI edge (never a traceback)."""
from __future__ import annotations


class ComposeError(Exception):
    """An error the user can act on. ``str(err)`` is the whole message."""

    exit_code = 1


class UsageError(ComposeError):
    """Bad command-line usage (unknown flag, missing argument)."""


class LoadError(ComposeError):
    """A compose file could not be read, parsed, interpolated or validated.

    ``where`` is ``file:line:col`` when known, ``path`` the key path
    (``services.web.ports[1]``); both are already part of the message.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, path: str | None = None):
        self.file, self.line, self.column, self.path = file, line, column, path
        prefix = ""
        if file:
            prefix = file
            if line is not None:
                prefix += f":{line}"
                if column is not None:
                    prefix += f":{column}"
            prefix += ": "
        if path:
            prefix += f"{path}: "
        super().__init__(prefix + message)
        self.bare_message = message


class DependencyCycleError(LoadError):
    """``depends_on`` (or links, network_mode, volumes_from) form a cycle."""
