"""A position (file:line:col) for every loader error.

Most stages raise where only a key path is known (``services.web must be a mapping``,
``secrets.x: one of file|environment must be set``) or nothing but a file. ``locate`` looks
the key path (the error's ``path``, the key path its message starts with, or the service it
names) up in the positions yamlread recorded for every document read, and falls back to the
start of the file, so a user always gets a place to look.
"""
from __future__ import annotations

import re
from typing import Iterable

from compose.errors import LoadError
from compose.loader.yamlread import Document, format_path


def locate(err: LoadError, documents: Iterable[tuple[str, Document]], options=None) -> LoadError:
    """``err`` itself when it has a position or is about the command line (``options``: the
    LoadOptions), else the same error with the best position known."""
    if err.file and err.line is not None and err.column is not None:
        return err
    if options is not None and _about_command_line(err, options):
        return err
    table: dict[str, tuple[str, int, int]] = {}
    first = None
    for filename, doc in documents:
        first = first or filename
        for path, pos in doc.positions.items():
            table.setdefault(_norm(format_path(path)), pos)
    pos = _lookup(err, table)
    if pos is None:
        start = err.file or first
        if not start:
            return err  # not about a file at all (command-line options)
        pos = (start, 1, 1)
    return _rebuild(err, *pos)


def _about_command_line(err: LoadError, options) -> bool:
    """A service named on the command line that the files lack, or a -p name that is not valid:
    nothing in a file to point at (Compose prints them bare)."""
    msg = getattr(err, "bare_message", str(err))
    m = re.fullmatch(r"no such service: (.+)", msg)
    if m and m.group(1) in (getattr(options, "services", None) or []):
        return True
    name = getattr(options, "project_name", None)
    return bool(name) and msg.startswith(f"invalid project name {name!r}")


def _norm(dotted: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", dotted)


def _candidates(err: LoadError) -> list[str]:
    out = [err.path] if err.path else []
    msg = getattr(err, "bare_message", str(err)).strip()
    if msg:
        out.append(msg.split(None, 1)[0].strip("'\"`:,"))
        out.append(msg.split(":", 1)[0].strip("'\"` "))
    out += [f"services.{name}" for name in re.findall(r"service ['\"]([^'\"]+)['\"]", msg)]
    if "project name" in msg:
        out.append("name")
    return out


def _lookup(err: LoadError, table: dict) -> tuple[str, int, int] | None:
    for cand in _candidates(err):
        parts = _norm(cand).split(".")
        while parts and parts != [""]:
            hit = table.get(".".join(parts))
            if hit:
                return hit
            parts.pop()
    return None


def _rebuild(err: LoadError, file: str, line: int, column: int) -> LoadError:
    new = err.__class__.__new__(err.__class__)
    new.__dict__.update(err.__dict__)
    LoadError.__init__(new, getattr(err, "bare_message", str(err)), file=file, line=line, column=column,
                       path=err.path)
    return new
