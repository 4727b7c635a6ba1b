"""A read-only merged view of a stack of layer directories, without mounting anything.

Why: COPY/ADD run without a container (no overlay mount in the host namespace), yet
they must see the image's files as the container would: the topmost layer wins, a
0:0 character device (whiteout) hides what is below, an opaque directory hides the
lower layers' entries, and symlinks are resolved as if the merged root were ``/``
(never onto the host). Every layer is walked component by component with ``lstat``,
so a symlink inside a layer is never followed by the host kernel.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UnsafeContent
from engine.overlay import is_opaque, is_whiteout

MAX_LINKS = 255


def split(path: str) -> list[str]:
    """Components of a container path, ``..`` clamped at the root."""
    out: list[str] = []
    for c in path.split("/"):
        if c in ("", "."):
            continue
        if c == "..":
            if out:
                out.pop()
            continue
        out.append(c)
    return out


@dataclass
class Entry:
    """The topmost entry of a merged path: its host path and lstat result."""

    host: str
    st: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.st.st_mode)


class LayeredFS:
    """Merged view of ``layers`` (lowest FIRST, as ``ImageRecord.layer_dirs`` gives them)."""

    def __init__(self, layers: list[Path | str]):
        self.top_first = [str(p) for p in reversed(list(layers))]

    def _in_layer(self, layer: str, parts: list[str]) -> tuple[str, os.stat_result | None, bool]:
        """(state, stat, hides_below) of ``parts`` in one layer, never following links.

        state: "found", "missing", "whiteout" (hides lower), "blocked" (a parent is not a dir:
        everything below is hidden)."""
        cur = layer
        for i, comp in enumerate(parts):
            cur = os.path.join(cur, comp)
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                return "missing", None, False
            except NotADirectoryError:
                return "missing", None, False
            if is_whiteout(st):
                return "whiteout", None, True
            if i < len(parts) - 1:
                if not stat.S_ISDIR(st.st_mode):
                    return "blocked", None, True
                if is_opaque(cur):
                    # below this directory, lower layers are hidden: remember it for the caller
                    rest = parts[i + 1:]
                    state, st2, _ = self._in_layer(cur, rest)
                    return state, st2, True
        return "found", os.lstat(cur) if parts else os.lstat(layer), False

    def lookup(self, path: str | list[str]) -> Entry | None:
        """The topmost entry at ``path`` (components NOT resolved through symlinks)."""
        parts = split(path) if isinstance(path, str) else path
        for layer in self.top_first:
            state, st, hides = self._in_layer(layer, parts)
            if state == "found":
                return Entry(os.path.join(layer, *parts), st)
            if hides or state in ("whiteout", "blocked"):
                return None
        return None

    def resolve(self, path: str, follow_last: bool = True) -> list[str]:
        """Canonical components of ``path``: every symlink resolved inside the merged root."""
        todo = split(path)
        todo.reverse()
        parts: list[str] = []
        links = 0
        while todo:
            comp = todo.pop()
            if comp == "..":
                if parts:
                    parts.pop()
                continue
            e = self.lookup(parts + [comp])
            if e is None or not e.is_link or (not todo and not follow_last):
                parts.append(comp)
                continue
            links += 1
            if links > MAX_LINKS:
                raise UnsafeContent(f"too many levels of symbolic links resolving {path}")
            target = os.readlink(e.host)
            if target.startswith("/"):
                parts = []
            todo.extend(reversed([c for c in target.split("/") if c and c != "."]))
        return parts

    def listdir(self, parts: list[str]) -> list[str]:
        """Names in the merged directory ``parts`` (whiteouts and opaque dirs honoured)."""
        seen: dict[str, bool] = {}
        for layer in self.top_first:
            state, st, hides = self._in_layer(layer, parts)
            if state != "found":
                if hides or state in ("whiteout", "blocked"):
                    break
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            host = os.path.join(layer, *parts)
            for name in os.listdir(host):
                if name in seen:
                    continue
                try:
                    est = os.lstat(os.path.join(host, name))
                except OSError:
                    continue
                seen[name] = not is_whiteout(est)
            if hides or (parts and is_opaque(host)):
                break
        return sorted(n for n, visible in seen.items() if visible)

    def read(self, path: str, limit: int = 16 << 20) -> bytes | None:
        """File content at ``path`` (symlinks resolved inside the root), None when absent."""
        e = self.lookup(self.resolve(path))
        if e is None or not stat.S_ISREG(e.st.st_mode):
            return None
        fd = os.open(e.host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            return f.read(limit)
