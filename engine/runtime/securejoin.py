"""Resolve a path inside a root directory without ever leaving it.

Why: mount targets and the working dir come from the user and the image; an
image may ship ``/data -> /etc`` or ``/x -> ../../../host``. Docker resolves
such symlinks as if the root were ``/`` (``securejoin``); a naive
``os.path.join`` would follow them onto the host. Every symlink met while
walking is re-read and resolved relative to ``root``; ``..`` stops at ``root``.
"""
from __future__ import annotations

import errno
import os
import stat

from engine.errors import UnsafeContent

MAX_SYMLINKS = 255


def secure_join(root: str, unsafe: str) -> str:
    """``root`` joined with ``unsafe`` with every symlink resolved inside ``root``.

    Missing trailing components are kept as they are (the caller creates them).
    """
    root = os.path.abspath(root)
    todo = [c for c in unsafe.split("/") if c]
    todo.reverse()  # a stack: the next component to handle is todo[-1]
    parts: list[str] = []
    links = 0
    while todo:
        comp = todo.pop()
        if comp == ".":
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        cand = os.path.join(root, *parts, comp)
        try:
            st = os.lstat(cand)
        except FileNotFoundError:
            parts.append(comp)
            continue
        except NotADirectoryError:
            parts.append(comp)
            continue
        if not stat.S_ISLNK(st.st_mode):
            parts.append(comp)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise UnsafeContent(f"too many levels of symbolic links resolving {unsafe} in the container")
        target = os.readlink(cand)
        if target.startswith("/"):
            parts = []
        more = [c for c in target.split("/") if c]
        todo.extend(reversed(more))
    return os.path.join(root, *parts) if parts else root


def inside(root: str, path: str) -> bool:
    root = os.path.abspath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def mkdir_inside(root: str, path: str, mode: int = 0o755) -> str:
    """Create the directory ``path`` (container-absolute) inside ``root``; returns the host path."""
    host = secure_join(root, path)
    rel = os.path.relpath(host, root)
    cur = root
    if rel != ".":
        for comp in rel.split("/"):
            cur = os.path.join(cur, comp)
            try:
                os.mkdir(cur, mode)
            except FileExistsError:
                st = os.lstat(cur)
                if stat.S_ISLNK(st.st_mode):
                    # appeared after resolution: resolve again rather than follow it
                    return mkdir_inside(root, path, mode)
                if not stat.S_ISDIR(st.st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, f"not a directory: {path} in the container") from None
    return host


def create_inside(root: str, path: str, is_dir: bool, mode: int = 0o755) -> str:
    """Make sure a mount target exists inside ``root`` (a directory or an empty file)."""
    host = secure_join(root, path)
    if is_dir:
        return mkdir_inside(root, path, mode)
    parent = os.path.dirname(os.path.relpath(host, root))
    if parent and parent != ".":
        mkdir_inside(root, "/" + parent, mode)
    try:
        fd = os.open(host, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        os.close(fd)
    except IsADirectoryError:
        pass
    return host
