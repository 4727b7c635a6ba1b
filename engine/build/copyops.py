"""COPY/ADD without a container: source items written into a fresh overlay upper directory.

Why no container: copying is pure file work; a container would cost a fork, namespaces
and an overlay mount per step. The step's upper directory starts empty and only this
writer touches it, so every path it writes goes through directories it created (or
copied up from the image, like overlayfs does on write): a symlink from a source is
written as a link and never followed, a link already in the image is followed only
through ``LayeredFS.resolve`` (inside the image root), and ``..`` never climbs above the
root. The layer is then made from the upper dir like a RUN's.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.build.errors import BuildError
from engine.build.fsview import LayeredFS, split
from engine.build.sources import Item, Source


@dataclass
class CopyJob:
    upper: Path
    base: LayeredFS | None  # the stage's filesystem (None for --link: nothing below is consulted)
    dest: str  # absolute container path (WORKDIR applied)
    dest_is_dir: bool  # ends with "/" or several sources
    owner: tuple[int, int] | None = None  # --chown
    chmod: object = None  # --chmod: (mode, is_dir) -> mode
    parents: bool = False


class Writer:
    """Writes ``Source``s into ``job.upper`` (see the module docstring)."""

    def __init__(self, job: CopyJob):
        self.job = job
        self.upper = str(job.upper)
        self.known_dirs: set[str] = {""}
        self.dir_meta: dict[str, Item] = {}
        self.copied_up: set[str] = set()
        canon = job.base.resolve(job.dest) if job.base is not None else split(job.dest)
        self.dest = canon

    # --- destination rules ------------------------------------------------------------------
    def target_of(self, src: Source, kept_rel: str | None = None) -> list[str]:
        """Where a source goes, by Docker's rules (dir contents merge into dest)."""
        dest = list(self.dest)
        if kept_rel is not None:  # --parents: the source path is kept under the destination
            return dest + split(kept_rel)
        if src.is_dir:
            return dest
        if self.job.dest_is_dir or self._is_dir_in_base(dest):
            return dest + [src.name]
        return dest

    def _is_dir_in_base(self, parts: list[str]) -> bool:
        if self.job.base is None or not parts:
            return not parts
        e = self.job.base.lookup(parts)
        return e is not None and e.is_dir

    # --- writing ------------------------------------------------------------------------------
    def write(self, src: Source, target: list[str]) -> None:
        for it in src.items:
            parts = target + split(it.rel)
            if it.rel == "" and it.kind == "dir":
                # a directory source's contents go into the destination; the destination itself is
                # made 0755 (or kept as the image has it), not given the source dir's mode (Docker's rule)
                self.ensure_dir(parts, None)
                continue
            self.ensure_dir(parts[:-1], None)
            self._entry(parts, it)

    def ensure_dir(self, parts: list[str], meta: Item | None) -> str:
        """The upper-dir path of directory ``parts``, made (or copied up) component by component."""
        for i in range(len(parts) + 1):
            rel = "/".join(parts[:i])
            if rel in self.known_dirs:
                continue
            host = os.path.join(self.upper, rel)
            try:
                st = os.lstat(host)
                if not stat.S_ISDIR(st.st_mode):
                    self._remove(host)
                    raise FileNotFoundError
            except FileNotFoundError:
                os.mkdir(host, 0o755)
                self._copy_up(parts[:i], host)
            self.known_dirs.add(rel)
        rel = "/".join(parts)
        if meta is not None:
            self.dir_meta[rel] = meta
            self.copied_up.discard(rel)
        return os.path.join(self.upper, rel)

    def _copy_up(self, parts: list[str], host: str) -> None:
        """A directory the image already has keeps its mode, owner and time (overlay's copy-up);
        a new one is 0755, owned by --chown's user."""
        e = self.job.base.lookup(parts) if self.job.base is not None else None
        if e is not None and e.is_dir:
            os.chmod(host, stat.S_IMODE(e.st.st_mode))
            os.lchown(host, e.st.st_uid, e.st.st_gid)
            self.copied_up.add("/".join(parts))
            self.dir_meta.setdefault("/".join(parts), Item("", "dir", stat.S_IMODE(e.st.st_mode), e.st.st_uid,
                                                           e.st.st_gid, e.st.st_mtime_ns))
        elif e is not None:
            raise BuildError(f"cannot copy to non-directory: /{'/'.join(parts)}")
        elif self.job.owner:
            os.lchown(host, *self.job.owner)

    def _remove(self, host: str) -> None:
        st = os.lstat(host)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(host)
            prefix = os.path.relpath(host, self.upper)
            self.known_dirs = {d for d in self.known_dirs if d != prefix and not d.startswith(prefix + "/")}
        else:
            os.unlink(host)

    def _entry(self, parts: list[str], it: Item) -> None:
        rel = "/".join(parts)
        host = os.path.join(self.upper, rel)
        if it.kind == "dir":
            self.ensure_dir(parts, it)
            return
        with contextlib.suppress(FileNotFoundError):
            self._remove(host)
        if it.kind == "file":
            self._file(host, it)
        elif it.kind == "link":
            os.symlink(it.link, host)
        elif it.kind == "fifo":
            os.mkfifo(host, 0o600)
        self._meta(host, it)

    @staticmethod
    def _file(host: str, it: Item) -> None:
        out = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if it.data is not None:
                os.write(out, it.data)
                return
            src = os.open(it.src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                _copy_fd(src, out)
            finally:
                os.close(src)
        finally:
            os.close(out)

    def _meta(self, host: str, it: Item) -> None:
        uid, gid = self.job.owner if self.job.owner else (it.uid, it.gid)
        os.lchown(host, uid, gid)
        if it.kind != "link":
            mode = self.job.chmod(it.mode, it.kind == "dir") if self.job.chmod is not None else it.mode
            os.chmod(host, mode)
        if it.mtime_ns:
            os.utime(host, ns=(it.mtime_ns, it.mtime_ns), follow_symlinks=False)

    def finish(self) -> None:
        """Directory modes, owners and times last (writing into a dir changes its mtime)."""
        for rel in sorted(self.dir_meta, key=lambda r: -r.count("/")):
            it = self.dir_meta[rel]
            host = os.path.join(self.upper, rel)
            if not rel or not os.path.isdir(host) or os.path.islink(host):
                continue
            if rel in self.copied_up:
                os.lchown(host, it.uid, it.gid)
                os.chmod(host, it.mode)
                os.utime(host, ns=(it.mtime_ns, it.mtime_ns), follow_symlinks=False)
            else:
                self._meta(host, it)


def _copy_fd(src: int, out: int) -> None:
    while True:
        try:
            n = os.copy_file_range(src, out, 1 << 30)
        except OSError:
            n = -1
        if n == 0:
            return
        if n < 0:
            break
    while True:  # copy_file_range refused (another filesystem type): plain reads
        b = os.read(src, 1 << 20)
        if not b:
            return
        os.write(out, b)


def extract_archive(job: CopyJob, writer: Writer, archive: str) -> None:
    """ADD of a local tar (plain, gzip, bzip2, xz): unpacked with the engine's safe unpacker
    into the destination directory, owners as archived unless --chown."""
    from engine.images.compression import open_plain
    from engine.images.unpack import unpack_stream

    host = writer.ensure_dir(list(writer.dest), None)
    with open_plain(archive) as stream:
        unpack_stream(stream, host)
    if job.owner or job.chmod is not None:
        for dirpath, dirnames, filenames in os.walk(host):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if job.owner:
                    os.lchown(p, *job.owner)
                if job.chmod is not None and not os.path.islink(p):
                    os.chmod(p, job.chmod(os.lstat(p).st_mode & 0o7777, os.path.isdir(p)))


def is_archive(path: str) -> bool:
    """True for a tar archive (plain or compressed the ways ``ADD`` extracts)."""
    import tarfile

    from engine.images.compression import open_plain

    try:
        with open_plain(path) as s, tarfile.open(fileobj=s, mode="r|") as tf:
            return tf.next() is not None
    except Exception:  # noqa: BLE001 - anything unreadable as a tar is copied as a file
        return False
