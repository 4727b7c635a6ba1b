"""Safe unpacking of one image layer (a tar stream) into a directory in overlayfs form.

Layers come from anywhere (``docker save`` archives, OCI archives, tarballs a user
imports), so a layer is hostile until proven otherwise. The unpacker:

* refuses member names that are absolute or contain ``..``;
* never follows a symlink while writing: every parent directory is opened
  component by component with ``O_NOFOLLOW`` relative to the layer root, so a
  member ``a -> /etc`` followed by ``a/passwd`` is refused, not written to /etc;
* refuses symlinks whose target, resolved inside the layer root (absolute targets
  start at the layer root), climbs above it; checked again once the whole layer is
  written, because a later link can change what an earlier one resolves to;
* refuses hard links whose target is outside, missing, reached through a symlink,
  or a device;
* refuses character and block devices, except the 0:0 character device that is an
  overlayfs whiteout already (fifos are allowed, as Docker allows them);
* turns AUFS/OCI whiteouts into overlayfs form: ``.wh.NAME`` becomes a 0:0
  character device ``NAME`` and ``.wh..wh..opq`` the ``trusted.overlay.opaque=y``
  xattr on its directory;
* keeps modes (setuid too), owners, mtimes and the xattrs that matter
  (``user.*``, ``security.capability``).

Errors are ``engine.errors.UnsafeContent`` naming the member. The caller unpacks
into a fresh temporary directory and throws it away on error, so a refused
layer leaves nothing behind (see ``engine.images.layers``).
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from collections import deque
from pathlib import Path
from typing import BinaryIO, Callable

from engine.errors import InvalidArgument, UnsafeContent
from engine.images.compression import HashingReader, open_plain

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_KEPT_XATTRS = ("user.", "security.capability", "trusted.overlay.opaque")
_MAX_LINK_HOPS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def unpack_layer(src: str | os.PathLike, dest: str | os.PathLike,
                 on_read: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Unpack the (plain, gzip, zstd, xz or bzip2) layer tar at ``src`` into the empty dir ``dest``.

    Returns the layer's diff id (``sha256:`` of the uncompressed tar) and its uncompressed size,
    so the caller can check them against the image config. ``on_read(n)``: bytes of ``src`` read.
    """
    with open_plain(src, on_read) as raw:
        return unpack_stream(raw, dest)


def unpack_stream(stream: BinaryIO, dest: str | os.PathLike) -> tuple[str, int]:
    """Like ``unpack_layer`` for an already uncompressed tar stream."""
    h = HashingReader(stream)
    u = _Unpacker(Path(dest))
    try:
        try:
            tf = tarfile.open(fileobj=h, mode="r|")
        except tarfile.ReadError as e:
            raise InvalidArgument(f"layer is not a tar archive: {e}") from None
        try:
            for member in tf:
                u.add(member, tf)
        except tarfile.TarError as e:
            raise InvalidArgument(f"corrupt layer tar: {e}") from None
        u.finish()
        h.drain()
    finally:
        u.close()
    return h.digest, h.size


def clean_name(name: str) -> list[str]:
    """Components of a member name; raises UnsafeContent for absolute names and ``..``."""
    if name.startswith("/"):
        raise UnsafeContent(f"unsafe layer member {name!r}: absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeContent(f"unsafe layer member {name!r}: path contains '..'")
    return parts


class _Unpacker:
    def __init__(self, root: Path):
        self.root = root
        self.root_fd = os.open(root, _DIR_FLAGS)
        self.as_root = os.geteuid() == 0
        self.ids = (os.geteuid(), os.getegid())
        self.dirs: list[tuple[list[str], tarfile.TarInfo]] = []
        self.symlinks: list[tuple[list[str], str, str]] = []
        self.created: set[str] = set()  # paths this layer made: its own whiteouts do not hide them
        self._parent: tuple[tuple[str, ...], int] | None = None   # the last member's directory, open

    def close(self) -> None:
        self._forget_parent()
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1

    # --- walking without following symlinks -------------------------------------------
    def _parent_fd(self, parts: list[str], member: str) -> int:
        """fd of the directory ``parts`` (made when missing), kept open for the next member:
        layers list many files of one directory in a row, and each walk from the root costs
        an open per component. Borrowed: the caller does not close it."""
        key = tuple(parts)
        if self._parent is not None and self._parent[0] == key:
            return self._parent[1]
        fd = self._open_dir(parts, member, create=True)
        self._forget_parent()
        self._parent = (key, fd)
        return fd

    def _forget_parent(self) -> None:
        """Close the kept directory fd: anything removed may have been it or above it."""
        if self._parent is not None:
            os.close(self._parent[1])
            self._parent = None

    def _open_dir(self, parts: list[str], member: str, create: bool) -> int:
        """fd of the directory ``parts`` under the root, never crossing a symlink."""
        fd = os.dup(self.root_fd)
        try:
            for i, comp in enumerate(parts):
                try:
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(comp, 0o755, dir_fd=fd)
                    self.created.add("/".join(parts[:i + 1]))
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except NotADirectoryError:
                    if not (create and self._is_whiteout(fd, comp)):
                        raise UnsafeContent(
                            f"unsafe layer member {member!r}: parent {comp!r} is not a directory") from None
                    self._forget_parent()
                    os.unlink(comp, dir_fd=fd)  # a whiteout, and this layer now makes the dir again
                    os.mkdir(comp, 0o755, dir_fd=fd)
                    self.created.add("/".join(parts[:i + 1]))
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        kind = "a symlink" if e.errno == errno.ELOOP else "not a directory"
                        raise UnsafeContent(
                            f"unsafe layer member {member!r}: parent {comp!r} is {kind}") from None
                    raise
                os.close(fd)
                fd = nfd
            return fd
        except BaseException:
            os.close(fd)
            raise

    @staticmethod
    def _is_whiteout(dfd: int, name: str) -> bool:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0

    def _clear(self, pfd: int, base: str, keep_dir: bool = False) -> bool:
        """Remove what exists at ``base`` (a later member replaces it); True if a dir was kept."""
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            if self._parent is not None and self._parent[1] != pfd:
                self._forget_parent()   # it may be inside the tree removed (pfd itself stays valid)
            shutil.rmtree(base, dir_fd=pfd)
        else:
            os.unlink(base, dir_fd=pfd)
        return False

    # --- members ------------------------------------------------------------------------
    def add(self, m: tarfile.TarInfo, tf: tarfile.TarFile) -> None:
        try:
            self._add(m, tf)
        except OSError as e:  # e.g. a name too long: the layer is bad, not the host
            raise InvalidArgument(f"cannot unpack layer member {m.name!r}: {e.strerror or e}") from None

    def _add(self, m: tarfile.TarInfo, tf: tarfile.TarFile) -> None:
        parts = clean_name(m.name)
        if not parts:  # the layer root itself ("./")
            if m.isdir():
                self._apply_meta_fd(self.root_fd, m)
                self.dirs.append(([], m))
            return
        base = parts[-1]
        pfd = self._parent_fd(parts[:-1], m.name)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(pfd, base, parts, m)
            return
        self.created.add("/".join(parts))
        if m.isdir():
            self._dir(pfd, base, parts, m)
        elif m.isreg():
            self._file(pfd, base, m, tf)
        elif m.issym():
            self._symlink(pfd, base, parts, m)
        elif m.islnk():
            self._hardlink(pfd, base, parts, m)
        elif m.ischr() or m.isblk():
            if m.ischr() and m.devmajor == 0 and m.devminor == 0:
                self._clear(pfd, base)
                os.mknod(base, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)
                self._apply_meta_path(pfd, base, m, chmod=False)
            else:
                kind = "character" if m.ischr() else "block"
                raise UnsafeContent(
                    f"unsafe layer member {m.name!r}: {kind} device {m.devmajor}:{m.devminor}")
        elif m.isfifo():
            self._clear(pfd, base)
            os.mknod(base, stat.S_IFIFO | (m.mode & 0o7777), dir_fd=pfd)
            self._apply_meta_path(pfd, base, m, chmod=True)
        else:
            raise UnsafeContent(f"unsupported layer member {m.name!r}: tar type {m.type!r}")

    def _whiteout(self, pfd: int, base: str, parts: list[str], m: tarfile.TarInfo) -> None:
        """Overlay form of an OCI whiteout; it hides only what LOWER layers have (OCI image spec)."""
        if base == OPAQUE_MARKER:
            os.setxattr(pfd, OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return  # AUFS bookkeeping (.wh..wh.plnk etc.): meaningless outside AUFS
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", ".."):
            raise UnsafeContent(f"unsafe layer member {m.name!r}: bad whiteout")
        if "/".join(parts[:-1] + [name]) in self.created:
            return
        self._clear(pfd, name)
        os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)
        self._apply_meta_path(pfd, name, m, chmod=False)

    def _dir(self, pfd: int, base: str, parts: list[str], m: tarfile.TarInfo) -> None:
        kept = self._clear(pfd, base, keep_dir=True)
        if not kept:
            os.mkdir(base, 0o700, dir_fd=pfd)
        fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
        try:
            if kept and self.as_root:  # an earlier member may have given it another owner
                os.fchown(fd, m.uid, m.gid)
            self._apply_meta_fd(fd, m)
        finally:
            os.close(fd)
        self.dirs.append((parts, m))

    def _file(self, pfd: int, base: str, m: tarfile.TarInfo, tf: tarfile.TarFile) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(base, flags, 0o600, dir_fd=pfd)
        except FileExistsError:   # a later member replaces an earlier one (rare: no stat first)
            self._clear(pfd, base)
            fd = os.open(base, flags, 0o600, dir_fd=pfd)
        try:
            src = tf.extractfile(m)
            if src is not None:
                while True:
                    buf = src.read(1 << 20)
                    if not buf:
                        break
                    view = memoryview(buf)
                    while view:
                        n = os.write(fd, view)
                        view = view[n:]
            self._apply_meta_fd(fd, m)
            os.utime(fd, ns=(int(m.mtime * 1e9),) * 2)
        finally:
            os.close(fd)

    def _symlink(self, pfd: int, base: str, parts: list[str], m: tarfile.TarInfo) -> None:
        if not m.linkname:
            raise UnsafeContent(f"unsafe layer member {m.name!r}: symlink with an empty target")
        if self._escapes(parts[:-1], m.linkname):
            raise UnsafeContent(
                f"unsafe layer member {m.name!r}: symlink target {m.linkname!r} escapes the layer")
        self._clear(pfd, base)
        os.symlink(m.linkname, base, dir_fd=pfd)
        self._apply_meta_path(pfd, base, m, chmod=False)
        self.symlinks.append((parts, m.linkname, m.name))

    def _hardlink(self, pfd: int, base: str, parts: list[str], m: tarfile.TarInfo) -> None:
        try:
            tparts = clean_name(m.linkname)
        except UnsafeContent:
            raise UnsafeContent(
                f"unsafe layer member {m.name!r}: hard link target {m.linkname!r} is outside the layer") from None
        if not tparts:
            raise UnsafeContent(f"unsafe layer member {m.name!r}: hard link to the layer root")
        try:
            tfd = self._open_dir(tparts[:-1], m.name, create=False)
        except FileNotFoundError:
            raise UnsafeContent(
                f"unsafe layer member {m.name!r}: hard link target {m.linkname!r} does not exist") from None
        try:
            try:
                st = os.stat(tparts[-1], dir_fd=tfd, follow_symlinks=False)
            except FileNotFoundError:
                raise UnsafeContent(
                    f"unsafe layer member {m.name!r}: hard link target {m.linkname!r} does not exist") from None
            mode = st.st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode) or stat.S_ISFIFO(mode)):
                raise UnsafeContent(
                    f"unsafe layer member {m.name!r}: hard link target {m.linkname!r} is not a regular file")
            if tparts == parts:
                return  # a link to itself: nothing to do
            self._clear(pfd, base)
            os.link(tparts[-1], base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(tfd)

    # --- metadata -----------------------------------------------------------------------
    def _xattrs(self, m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
        out = []
        for key, value in (m.pax_headers or {}).items():
            if key.startswith("SCHILY.xattr."):
                name = key[len("SCHILY.xattr."):]
                if name.startswith(_KEPT_XATTRS):
                    out.append((name, value.encode("utf-8", "surrogateescape")))
        return out

    def _needs_chown(self, m: tarfile.TarInfo) -> bool:
        # what we create is ours already (uid/gid of this process); a syscall saved per member
        return self.as_root and (m.uid, m.gid) != self.ids

    def _apply_meta_fd(self, fd: int, m: tarfile.TarInfo) -> None:
        if self._needs_chown(m):
            os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)  # after chown: chown clears setuid bits
        for name, value in self._xattrs(m):
            try:
                os.setxattr(fd, name, value)
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EPERM, errno.EINVAL):
                    raise

    def _apply_meta_path(self, pfd: int, base: str, m: tarfile.TarInfo, chmod: bool) -> None:
        if self._needs_chown(m):
            os.chown(base, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        if chmod:
            os.chmod(base, m.mode & 0o7777, dir_fd=pfd)
        os.utime(base, ns=(int(m.mtime * 1e9),) * 2, dir_fd=pfd, follow_symlinks=False)

    # --- symlink resolution inside the layer ----------------------------------------------
    def _escapes(self, start: list[str], target: str) -> bool:
        """True when ``target`` (a symlink in dir ``start``) resolves above the layer root.

        Resolution follows the symlinks already in the layer, reading them relative to
        the root fd; every prefix walked is a resolved real directory, so the kernel
        never follows a link on the way either.
        """
        if not target:
            return False
        cur: list[str] = [] if target.startswith("/") else list(start)
        todo = deque(target.split("/"))
        hops = 0
        while todo:
            c = todo.popleft()
            if c in ("", "."):
                continue
            if c == "..":
                if not cur:
                    return True
                cur.pop()
                continue
            cur.append(c)
            try:
                link = os.readlink("/".join(cur), dir_fd=self.root_fd)
            except OSError:
                continue  # not a link, or not there (yet): later members are checked again
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return False  # a loop does not escape; it just never resolves
            cur.pop()
            if link.startswith("/"):
                cur = []
            todo.extendleft(reversed(link.split("/")))
        return False

    def finish(self) -> None:
        """Re-check every symlink (later members may change resolution) and set dir mtimes."""
        for parts, target, name in self.symlinks:
            try:
                pfd = self._open_dir(parts[:-1], name, create=False)
            except (FileNotFoundError, UnsafeContent):
                continue
            try:
                try:
                    if os.readlink(parts[-1], dir_fd=pfd) != target:
                        continue
                except OSError:
                    continue
            finally:
                os.close(pfd)
            if self._escapes(parts[:-1], target):
                raise UnsafeContent(
                    f"unsafe layer member {name!r}: symlink target {target!r} escapes the layer")
        for parts, m in sorted(self.dirs, key=lambda d: -len(d[0])):
            try:
                fd = self._open_dir(parts, m.name, create=False)
            except (FileNotFoundError, UnsafeContent):
                continue
            try:
                os.utime(fd, ns=(int(m.mtime * 1e9),) * 2)
            finally:
                os.close(fd)
