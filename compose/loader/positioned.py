"""Where a loader error points: the file:line:col of a key path, and values quoted for messages."""
from __future__ import annotations

import json
from typing import Any

from compose.errors import LoadError
from compose.loader.yamlread import Positions, format_path


def where(positions: Positions | None, path: tuple) -> tuple[str | None, int | None, int | None]:
    """Position of ``path``, else of its nearest ancestor that has one."""
    if positions:
        p = tuple(path)
        while True:
            hit = positions.get(p)
            if hit:
                return hit
            if not p:
                break
            p = p[:-1]
    return None, None, None


def error_at(message: str, path: tuple, positions: Positions | None, *, show_path: bool = True) -> LoadError:
    file, line, column = where(positions, path)
    return LoadError(message, file=file, line=line, column=column,
                     path=format_path(path) if (show_path and path) else None)


def show(value: Any) -> str:
    """A value as JSON text (long mappings and lists cut at 60 characters)."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return json.dumps(value, default=str)
