"""A layer tar, and Docker's change list, from an overlayfs upper directory.

Why from the upper dir: overlayfs already records exactly what a step or a
container changed (new and copied-up entries, 0:0 character devices for
deletions, the ``opaque`` xattr for directories made anew), so a layer is the
upper tree in OCI form, like Docker's overlay2 driver writes it:

* a 0:0 character device ``x`` becomes an empty ``.wh.x``; an opaque directory
  gets a ``.wh..wh..opq`` entry right after its own;
* entries are written depth first in byte order of their names, without atime,
  uname or gname, mtimes in whole seconds (Docker's tar headers), so the same
  tree always gives the same bytes and the same diff id;
* modes (setuid too), owners, ``security.capability`` and ``user.*`` xattrs are
  kept; hard links inside the layer become tar hard links; symlinks are stored
  as links; nothing is ever followed: every directory is opened relative to
  its parent with ``O_NOFOLLOW``, so no entry can lead the writer out of upper.

``skip``: relative paths of mount stubs a container runtime made (Docker keeps
them in a separate "init" layer): they, and directories holding nothing else,
are left out of the tar and out of the change list.
"""
from __future__ import annotations

import errno
import os
import stat
import tarfile
from pathlib import Path
from typing import Iterator

from engine.build.tarwrite import TarOut
from engine.overlay import is_opaque, is_whiteout

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_KEPT_XATTRS = ("security.capability", "user.")
_SKIPPED_XATTRS = ("user.overlay.",)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20

# The files and mount points a container's runtime puts in its root (Docker's init layer).
INIT_PATHS = ("etc/hostname", "etc/hosts", "etc/resolv.conf", "proc", "sys", "dev", "etc/mtab",
              "dev/console", "dev/pts", "dev/shm")


def _xattrs(target) -> dict[str, str]:
    """The xattrs a layer keeps, as PAX ``SCHILY.xattr.`` headers (``target``: an fd)."""
    try:
        names = os.listxattr(target)
    except OSError:
        return {}
    out = {}
    for name in sorted(names):
        if not name.startswith(_KEPT_XATTRS) or name.startswith(_SKIPPED_XATTRS):
            continue
        try:
            value = os.getxattr(target, name)
        except OSError:
            continue
        out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


class _Entry:
    """One directory entry of the upper tree, as the walk found it."""

    __slots__ = ("rel", "name", "st", "dfd")

    def __init__(self, rel: str, name: str, st: os.stat_result, dfd: int):
        self.rel, self.name, self.st, self.dfd = rel, name, st, dfd


def _keep_dir_for_skip(rel: str, skip: frozenset[str]) -> bool:
    """Is ``rel`` an ancestor of a skipped stub (so it may hold nothing else of ours)?"""
    prefix = rel + "/"
    return any(s.startswith(prefix) for s in skip)


def _walk(dfd: int, rel: str, skip: frozenset[str]) -> Iterator[tuple[str, _Entry]]:
    """Depth-first walk under the open directory ``dfd``: ("enter", dir) / ("leave", dir) / ("file", e).

    Directories that are ancestors of skipped stubs are reported lazily by the consumer
    (see ``_pending``); here every event is plain. Names are sorted as bytes, like Go's walk.
    """
    names = sorted(os.listdir(dfd), key=os.fsencode)
    for name in names:
        child = f"{rel}/{name}" if rel else name
        if child in skip:
            continue
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone meanwhile (a running container)
        e = _Entry(child, name, st, dfd)
        if stat.S_ISDIR(st.st_mode):
            try:
                cfd = os.open(name, _DIR_FLAGS, dir_fd=dfd)
            except FileNotFoundError:
                continue
            try:
                yield "enter", _Entry(child, name, os.fstat(cfd), cfd)
                yield from _walk(cfd, child, skip)
                yield "leave", _Entry(child, name, st, cfd)
            finally:
                os.close(cfd)
        else:
            yield "file", e


def _walk_upper(upper: Path, skip: frozenset[str]) -> Iterator[tuple[str, _Entry]]:
    """Like ``_walk`` from the upper root, dropping directories that only held skipped stubs."""
    root = os.open(upper, _DIR_FLAGS)
    try:
        pending: list[tuple[str, _Entry]] = []  # entered stub ancestors not yet known to matter
        for ev, e in _walk(root, "", skip):
            if ev == "enter" and _keep_dir_for_skip(e.rel, skip) and not is_opaque(e.dfd):
                pending.append((ev, e))
                continue
            if ev == "leave" and pending and pending[-1][1].rel == e.rel:
                pending.pop()  # held nothing but stubs: left out
                continue
            for p in pending:
                yield p
            pending.clear()
            yield ev, e
    finally:
        os.close(root)


def _dir_info(e: _Entry) -> tarfile.TarInfo:
    ti = _info(e.rel + "/", e.st, tarfile.DIRTYPE)
    ti.pax_headers = _xattrs(e.dfd)
    return ti


def _info(name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    ti.size = 0
    return ti


class _LayerWriter:
    def __init__(self, tf: TarOut):
        self.tf = tf
        self.links: dict[tuple[int, int], str] = {}  # (dev, ino) -> first name written

    def directory(self, e: _Entry) -> None:
        self.tf.add(_dir_info(e))
        if is_opaque(e.dfd):
            ti = _info(f"{e.rel}/{OPAQUE_MARKER}", e.st, tarfile.REGTYPE)
            ti.mode = stat.S_IMODE(e.st.st_mode) & 0o777
            self.tf.add(ti)

    def entry(self, e: _Entry) -> None:
        st = e.st
        mode = st.st_mode
        if is_whiteout(st):
            parent, _, base = e.rel.rpartition("/")
            ti = _info(f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base, st, tarfile.REGTYPE)
            ti.mode = 0
            self.tf.add(ti)
            return
        if stat.S_ISSOCK(mode):
            return  # tar has no sockets (Docker skips them too)
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            ti = _info(e.rel, st, tarfile.LNKTYPE)
            ti.linkname = self.links[key]
            self.tf.add(ti)
            return
        if st.st_nlink > 1:
            self.links[key] = e.rel
        if stat.S_ISREG(mode):
            self._file(e)
        elif stat.S_ISLNK(mode):
            ti = _info(e.rel, st, tarfile.SYMTYPE)
            ti.linkname = os.readlink(e.name, dir_fd=e.dfd)
            self.tf.add(ti)
        elif stat.S_ISFIFO(mode):
            self.tf.add(_info(e.rel, st, tarfile.FIFOTYPE))
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            ti = _info(e.rel, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tf.add(ti)

    def _file(self, e: _Entry) -> None:
        try:
            fd = os.open(e.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, dir_fd=e.dfd)
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ELOOP):
                return  # removed or replaced meanwhile
            raise
        try:
            st = os.fstat(fd)
            ti = _info(e.rel, st, tarfile.REGTYPE)
            ti.size = st.st_size
            ti.pax_headers = _xattrs(fd)
            self.tf.add(ti, fd)
        finally:
            os.close(fd)


def layer_from_upper(upper: str | os.PathLike, out_tar: str | os.PathLike,
                     skip: tuple[str, ...] | frozenset[str] = ()) -> tuple[str, int]:
    """Write the OCI layer tar of the overlay upper dir ``upper`` to ``out_tar``.

    Returns ``("sha256:<hex>", size)``: the layer's diff id and its size in bytes.
    ``skip``: relative paths (``etc/hosts``) of runtime stubs to leave out.
    """
    skipset = frozenset(s.strip("/") for s in skip)
    with open(out_tar, "wb", buffering=_CHUNK) as raw:
        out = TarOut(raw)
        w = _LayerWriter(out)
        for ev, e in _walk_upper(Path(upper), skipset):
            if ev == "enter":
                w.directory(e)
            elif ev == "file":
                w.entry(e)
        return out.close()


# --------------------------------------------------------------------------- docker diff
class _LowerView:
    """What the read-only layers (top first) show at a path, with whiteouts and opaque dirs."""

    def __init__(self, lowers: list[Path]):
        self.lowers = [str(p) for p in lowers]
        self._dirs: dict[tuple[int, str], str] = {}  # (layer, dir) -> "dir" | "none" | "hide"

    def _dir_state(self, i: int, rel: str) -> str:
        key = (i, rel)
        if key not in self._dirs:
            try:
                st = os.lstat(os.path.join(self.lowers[i], rel))
            except OSError:
                state = "none"
            else:
                if not stat.S_ISDIR(st.st_mode):
                    state = "hide"  # a whiteout or a file: nothing below it shows through
                else:
                    state = "opaque" if is_opaque(os.path.join(self.lowers[i], rel)) else "dir"
            self._dirs[key] = state
        return self._dirs[key]

    def listdir(self, rel: str) -> list[str]:
        """Names the layers show in directory ``rel`` (whiteouts and opaque dirs applied)."""
        names: set[str] = set()
        gone: set[str] = set()
        parts = rel.split("/")
        for i, layer in enumerate(self.lowers):
            states = [self._dir_state(i, "/".join(parts[:k])) for k in range(1, len(parts) + 1)]
            if "none" in states:
                if any(st in ("hide", "opaque") for st in states[:states.index("none")]):
                    break
                continue
            if "hide" in states:
                break
            try:
                entries = os.listdir(os.path.join(layer, rel))
            except OSError:
                entries = []
            for name in entries:
                if name in names or name in gone:
                    continue
                try:
                    st = os.lstat(os.path.join(layer, rel, name))
                except OSError:
                    continue
                (gone if is_whiteout(st) else names).add(name)
            if "opaque" in states:
                break
        return sorted(names)

    def stat(self, rel: str) -> os.stat_result | None:
        parts = rel.split("/")
        for i, layer in enumerate(self.lowers):
            hidden, present = False, True
            for k in range(1, len(parts)):
                s = self._dir_state(i, "/".join(parts[:k]))
                if s == "none":
                    present = False
                    break
                if s == "hide":
                    return None
                if s == "opaque":
                    hidden = True
            if present:
                try:
                    st = os.lstat(os.path.join(layer, rel))
                except OSError:
                    st = None
                if st is not None:
                    return None if is_whiteout(st) else st
            if hidden:
                return None
        return None


def _same_dir(a: os.stat_result, b: os.stat_result, ignore_mtime: bool) -> bool:
    if (a.st_mode, a.st_uid, a.st_gid) != (b.st_mode, b.st_uid, b.st_gid):
        return False
    if ignore_mtime:
        return True
    return int(a.st_mtime) == int(b.st_mtime) and (a.st_mtime_ns % 10**9 == 0 or b.st_mtime_ns % 10**9 == 0
                                                   or a.st_mtime_ns == b.st_mtime_ns)


def changes_from_upper(upper: str | os.PathLike, lower_dirs: list[str | os.PathLike] = (),
                       skip: tuple[str, ...] | frozenset[str] = ()) -> list[tuple[str, str]]:
    """``docker diff``: ("A"|"C"|"D", "/path") for an overlay upper dir, parents before children.

    ``lower_dirs``: the image's layer dirs, top first. Docker's tree comparison: A is new,
    D gone (a whiteout, or what an opaque directory hides), C existed and changed; a
    directory is C when its mode, owner or time changed, or when anything under it did.
    """
    skipset = frozenset(s.strip("/") for s in skip)
    view = _LowerView([Path(p) for p in lower_dirs])
    changes: dict[str, str] = {}

    def record(rel: str, kind: str) -> None:
        changes[rel] = kind
        parts = rel.split("/")
        for k in range(len(parts) - 1, 0, -1):
            anc = "/".join(parts[:k])
            if anc in changes:
                break
            changes[anc] = "C"

    for ev, e in _walk_upper(Path(upper), skipset):
        if ev == "leave":
            continue
        is_dir = ev == "enter"
        if is_whiteout(e.st):
            record(e.rel, "D")
            continue
        below = view.stat(e.rel)
        if below is None:
            record(e.rel, "A")
        elif is_dir and is_opaque(e.dfd):
            record(e.rel, "C" if stat.S_ISDIR(below.st_mode) else "A")
            for name in view.listdir(e.rel):  # hidden by the opaque dir, not made again
                if not os.path.lexists(os.path.join(upper, e.rel, name)):
                    record(f"{e.rel}/{name}", "D")
        elif not (is_dir and stat.S_ISDIR(below.st_mode)
                  and _same_dir(e.st, below, _keep_dir_for_skip(e.rel, skipset))):
            record(e.rel, "C")
    return [(changes[r], "/" + r) for r in sorted(changes, key=lambda r: r.split("/"))]
