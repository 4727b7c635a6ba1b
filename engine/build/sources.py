"""What a COPY/ADD copies: the source trees as flat lists of ``Item``s.

Why flat items: the writer (``engine.build.copyops``) places every item itself under the
destination, never through a path it did not create, so the source kind (build context,
another stage's layers, a heredoc, a downloaded file) does not change how safely it writes.
Context files lose their owner (0:0, as BuildKit's context transfer does); files from a
stage or an image keep theirs.
"""
from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass

from engine.build.context import BuildContext, clean_rel, has_glob
from engine.build.errors import BuildError
from engine.build.fsview import LayeredFS, split


@dataclass
class Item:
    """One entry to write: ``rel`` under the target base ("" is the base itself)."""

    rel: str
    kind: str  # "dir" | "file" | "link" | "fifo"
    mode: int
    uid: int = 0
    gid: int = 0
    mtime_ns: int = 0
    src: str | None = None  # host path of a file's data (never followed: opened O_NOFOLLOW)
    data: bytes | None = None  # inline data (heredocs)
    link: str | None = None  # symlink target
    st: os.stat_result | None = None  # the lstat the item was made from (context files: for their digest)


@dataclass
class Source:
    """A matched source: its name (for ``dest/`` placement) and its items."""

    name: str  # base name placed under a directory destination; "" for a directory's contents
    items: list[Item]
    rel_path: str = ""  # the path as matched (context-relative or image-absolute), for --parents
    is_dir: bool = False
    archive: str | None = None  # ADD: a local archive to extract instead of copying


def _kind(st: os.stat_result) -> str | None:
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if stat.S_ISFIFO(st.st_mode):
        return "fifo"
    return None  # sockets and devices are not copied


def context_sources(ctx: BuildContext, pattern: str) -> list[Source]:
    """Sources in the build context for one COPY source pattern (empty when nothing matches)."""
    out = []
    for rel in ctx.match(pattern):
        entries = ctx.walk(rel)
        top_st = entries[0][1]
        is_dir = stat.S_ISDIR(top_st.st_mode)
        items = []
        for crel, st, host in entries:
            kind = _kind(st)
            if kind is None:
                continue
            sub = crel[len(rel):].lstrip("/") if crel != rel else ""
            items.append(Item(sub, kind, stat.S_IMODE(st.st_mode), 0, 0, st.st_mtime_ns,
                              src=host if kind == "file" else None,
                              link=os.readlink(host) if kind == "link" else None, st=st))
        out.append(Source("" if is_dir else rel.rsplit("/", 1)[-1], items, rel, is_dir))
    return out


def fs_match(fs: LayeredFS, pattern: str) -> list[list[str]]:
    """Canonical paths in a layered filesystem matching ``pattern`` (globs per component)."""
    parts = split(pattern)
    if not any(has_glob(p) for p in parts):
        canon = fs.resolve("/" + "/".join(parts))
        return [canon] if fs.lookup(canon) is not None else []
    found: list[list[str]] = [[]]
    for comp in parts:
        nxt = []
        for base in found:
            canon = fs.resolve("/" + "/".join(base))
            e = fs.lookup(canon)
            if e is None or not e.is_dir:
                continue
            for n in fs.listdir(canon):
                if fnmatch.fnmatchcase(n, comp) if has_glob(comp) else n == comp:
                    nxt.append(base + [n])
        found = nxt
    return [fs.resolve("/" + "/".join(p)) for p in found]


def fs_sources(fs: LayeredFS, pattern: str) -> list[Source]:
    """Sources from another stage or an image (owners kept, symlinks inside copied as links)."""
    out = []
    for canon in fs_match(fs, pattern):
        top = fs.lookup(canon)
        if top is None:
            continue
        items: list[Item] = []
        _fs_walk(fs, canon, "", items)
        name = canon[-1] if canon else ""
        out.append(Source("" if top.is_dir else name, items, "/".join(canon), top.is_dir))
    return out


def _fs_walk(fs: LayeredFS, canon: list[str], rel: str, items: list[Item]) -> None:
    e = fs.lookup(canon)
    if e is None:
        return
    kind = _kind(e.st)
    if kind is None:
        return
    items.append(Item(rel, kind, stat.S_IMODE(e.st.st_mode), e.st.st_uid, e.st.st_gid, e.st.st_mtime_ns,
                      src=e.host if kind == "file" else None,
                      link=os.readlink(e.host) if kind == "link" else None))
    if kind == "dir":
        for n in fs.listdir(canon):
            _fs_walk(fs, canon + [n], f"{rel}/{n}" if rel else n, items)


def heredoc_source(name: str, content: bytes, mtime_ns: int) -> Source:
    return Source(name, [Item("", "file", 0o644, 0, 0, mtime_ns, data=content)], name)


def file_source(name: str, host: str, mode: int, mtime_ns: int) -> Source:
    """A single downloaded file (ADD URL)."""
    return Source(name, [Item("", "file", mode, 0, 0, mtime_ns, src=host)], name)


def parents_rel(rel: str) -> str:
    """``COPY --parents``: the part of a source path kept under the destination (after ``/./``)."""
    rel = rel.replace("\\", "/")
    if "/./" in "/" + rel:
        return clean_rel(("/" + rel).split("/./", 1)[1])
    return clean_rel(rel)


def not_found(pattern: str) -> BuildError:
    return BuildError(f'failed to compute cache key: failed to calculate checksum of ref: "/{clean_rel(pattern)}": '
                      "not found")
