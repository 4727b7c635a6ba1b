"""Resolve a Docker ``user`` string against the image's /etc/passwd and /etc/group.

Why read the layers: the container does not exist yet when the spec is built,
and Docker resolves names in the *image's* files, not the host's. Files are
looked up through the layer stack top-down, honouring overlay whiteouts, and
a symlinked /etc/passwd is followed inside the layers, never onto the host.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InvalidArgument
from engine.overlay import is_opaque, is_whiteout

MAX_ID = 2**32 - 2


@dataclass
class User:
    uid: int
    gid: int
    additional_gids: list[int]
    home: str


def read_layered(layers: list[Path], path: str, _depth: int = 0) -> bytes | None:
    """Contents of container path ``path`` as the merged layers show it (None if absent)."""
    if _depth > 16:
        return None
    parts = [p for p in path.split("/") if p and p != "."]
    for layer in reversed(layers):
        # a whiteout or opaque dir on the way hides everything below this layer
        hidden = False
        cur = str(layer)
        for i, comp in enumerate(parts):
            cur = os.path.join(cur, comp)
            try:
                st = os.lstat(cur)
            except OSError:
                break
            if is_whiteout(st):
                return None
            if i < len(parts) - 1:
                if not stat.S_ISDIR(st.st_mode):
                    break
                if is_opaque(cur):
                    hidden = True
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(cur)
                base = "/" + "/".join(parts[:-1])
                resolved = os.path.normpath(os.path.join(base, target))
                return read_layered(layers, resolved, _depth + 1)
            if not stat.S_ISREG(st.st_mode):
                return None
            try:
                fd = os.open(cur, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                return None
            with os.fdopen(fd, "rb") as f:
                return f.read(16 * 1024 * 1024)
        if hidden:
            return None
    return None


def _parse(data: bytes | None, fields: int) -> list[list[str]]:
    out = []
    for line in (data or b"").decode(errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) < fields:
            parts += [""] * (fields - len(parts))
        out.append(parts)
    return out


def _num(s: str) -> int | None:
    if s.isdigit():
        n = int(s)
        if n > MAX_ID:
            raise InvalidArgument(f"uid/gid {s} is out of range")
        return n
    return None


def resolve_user(user: str, layers: list[Path], group_add: list[str] | None = None) -> User:
    """``name``, ``uid``, ``uid:gid``, ``name:group`` ... -> ids, like Docker (runc's user package)."""
    user = (user or "").strip()
    name, _, group = user.partition(":")
    passwd = _parse(read_layered(layers, "/etc/passwd"), 7)
    groups = _parse(read_layered(layers, "/etc/group"), 4)
    uid, gid, home, uname = 0, 0, "/", "root"
    if name:
        n = _num(name)
        entry = next((p for p in passwd if (p[0] == name if n is None else p[2] == name)), None)
        if entry is None and n is None:
            raise InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")
        if entry is not None:
            uid = int(entry[2]) if entry[2].isdigit() else 0
            gid = int(entry[3]) if entry[3].isdigit() else 0
            home, uname = entry[5] or "/", entry[0]
        else:
            uid, gid, uname = n, 0, ""
    elif passwd:
        root = next((p for p in passwd if p[2] == "0"), None)
        if root:
            home = root[5] or "/"
    else:
        home = "/root"
    if group:
        gid = _group_id(group, groups)
    extra: list[int] = []
    if uname and not group:
        # supplementary groups from /etc/group membership (as runc does), unless a group was forced
        for g in groups:
            if uname in [m.strip() for m in g[3].split(",") if m.strip()] and g[2].isdigit():
                extra.append(int(g[2]))
    for g in group_add or []:
        extra.append(_group_id(str(g), groups))
    seen: list[int] = []
    for g in extra:
        if g not in seen:
            seen.append(g)
    return User(uid=uid, gid=gid, additional_gids=seen, home=home)


def _group_id(group: str, groups: list[list[str]]) -> int:
    n = _num(group)
    if n is not None:
        return n
    entry = next((g for g in groups if g[0] == group), None)
    if entry is None or not entry[2].isdigit():
        raise InvalidArgument(f"unable to find group {group}: no matching entries in group file")
    return int(entry[2])
