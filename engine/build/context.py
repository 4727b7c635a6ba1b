"""The build context: a directory (or a tar stream on stdin, unpacked safely), filtered by
``.dockerignore``, with content digests for the cache.

Why digests of content and not of stat data: a cached step must survive ``touch`` (a new
mtime) and bust when one byte changes. Hashing thousands of files on every build would make
a cached rebuild slow, so file digests are remembered per context in a small stat cache
(size, mtime, inode -> sha256): a file whose stat changed is re-read, and a touched file
hashes to the same digest as before, so the step stays cached.
"""
from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from engine.build.errors import BuildError
from engine.build.fsview import split
from engine.runtime.securejoin import secure_join
from engine.state import DataRoot, atomic_write

_GLOB_CHARS = set("*?[")


def has_glob(s: str) -> bool:
    return any(c in _GLOB_CHARS for c in s)


def clean_rel(path: str) -> str:
    """A context path as a clean relative path ("" is the root); ``..`` never leaves the root."""
    return "/".join(split(path.replace("\\", "/")))


class BuildContext:
    """Files a build may read: ``root`` minus what ``.dockerignore`` excludes."""

    def __init__(self, root: Path, ignore=None, data_root: DataRoot | None = None, tmp: Path | None = None):
        self.root = Path(root)
        self._root_prefix = str(self.root).rstrip("/") + "/"
        self.ignore = ignore
        self.data_root = data_root
        self._tmp = tmp  # removed by close(): a context unpacked from a tar stream
        self._hashes: dict[str, list] = {}
        self._hash_file: Path | None = None
        self._dirty = False
        self._walks: dict[str, list[tuple[str, os.stat_result, str]]] = {}
        self.dockerfile_text: str | None = None
        if data_root is not None:
            self._load_hashes()

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_tar(cls, stream: BinaryIO, data_root: DataRoot, scratch: Path | None = None) -> "BuildContext":
        """Unpack a context tar (plain or compressed) with the safe layer unpacker."""
        from engine.build.copyops import is_archive
        from engine.images.unpack import unpack_layer

        tmp = Path(tempfile.mkdtemp(prefix="ctx-", dir=scratch or data_root.dir("builder", "tmp")))
        try:
            spool = tmp / "context.tar"
            with open(spool, "wb") as f:
                shutil.copyfileobj(stream, f, 1 << 20)
            if spool.stat().st_size == 0:
                raise BuildError("unable to prepare context: the context tar on stdin is empty")
            (tmp / "ctx").mkdir()
            text = None
            if is_archive(str(spool)):
                unpack_layer(spool, tmp / "ctx")
            else:  # `docker build - < Dockerfile`: a Dockerfile and no context
                text = spool.read_text(encoding="utf-8", errors="replace")
            spool.unlink()
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        ctx = cls(tmp / "ctx", None, data_root, tmp=tmp)
        ctx.dockerfile_text = text
        return ctx

    def close(self) -> None:
        self._save_hashes()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # --- ignore rules -----------------------------------------------------------------------
    def excluded(self, rel: str) -> bool:
        return bool(rel) and self.ignore is not None and self.ignore.excluded(rel)

    # --- sources ------------------------------------------------------------------------------
    def host(self, rel: str, follow: bool = True) -> str:
        """Host path of context path ``rel``, symlinks resolved inside the context."""
        rel = clean_rel(rel)
        if follow:
            return secure_join(str(self.root), rel)
        parent, _, name = rel.rpartition("/")
        base = secure_join(str(self.root), parent)
        return os.path.join(base, name) if name else base

    def rel_of(self, host: str) -> str:
        return clean_rel(os.path.relpath(host, self.root))

    def match(self, pattern: str) -> list[str]:
        """Context paths matching a COPY source (globs per component, like Go's filepath.Match)."""
        rel = clean_rel(pattern)
        if not has_glob(rel):
            host = self.host(rel)
            crel = self.rel_of(host)
            if not os.path.lexists(host) or self.excluded(crel):
                return []
            return [crel]
        parts = rel.split("/")
        found = [""]
        for comp in parts:
            nxt = []
            for base in found:
                hb = self.host(base)
                if not os.path.isdir(hb):
                    continue
                names = sorted(os.listdir(hb)) if has_glob(comp) else [comp]
                for n in names:
                    if (fnmatch.fnmatchcase(n, comp) if has_glob(comp) else os.path.lexists(os.path.join(hb, n))):
                        nxt.append(f"{base}/{n}" if base else n)
            found = nxt
        return [r for r in found if not self.excluded(r)]

    def walk(self, rel: str) -> list[tuple[str, os.stat_result, str]]:
        """``rel`` and everything under it that is not ignored: (context path, lstat, host path), sorted.

        ``rel`` itself is resolved inside the context (a symlink to a directory copies the
        directory); below it nothing is followed: host paths are built from the resolved top."""
        if rel in self._walks:
            return self._walks[rel]
        top = self.host(rel)
        st = os.stat(top)
        out = [(rel, st, top)]
        if stat.S_ISDIR(st.st_mode):
            self._walk_dir(top, rel, out)
        self._walks[rel] = out
        return out

    def _walk_dir(self, host: str, rel: str, out: list) -> None:
        try:
            entries = sorted(os.scandir(host), key=lambda e: e.name)
        except OSError as e:
            raise BuildError(f"failed to read the build context at {rel or '.'}: {e.strerror}") from None
        for e in entries:
            crel = f"{rel}/{e.name}" if rel else e.name
            st = e.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(st.st_mode)
            if self.excluded(crel):
                if is_dir and not self.ignore.skip_dir(crel):
                    sub: list = []
                    self._walk_dir(e.path, crel, sub)
                    if sub:  # a dir excluded but with re-included content: keep the dir itself
                        out.append((crel, st, e.path))
                        out.extend(sub)
                continue
            out.append((crel, st, e.path))
            if is_dir:
                self._walk_dir(e.path, crel, out)

    # --- digests ------------------------------------------------------------------------------
    def file_digest(self, host: str, st: os.stat_result) -> str:
        """sha256 of a regular file's content, from the stat cache when its stat is unchanged."""
        prefix = self._root_prefix
        rel = host[len(prefix):] if host.startswith(prefix) else os.path.relpath(host, self.root)
        sig = [st.st_size, st.st_mtime_ns, st.st_ino]
        hit = self._hashes.get(rel)
        if hit and hit[:3] == sig:
            return hit[3]
        h = hashlib.sha256()
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb", buffering=0) as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        d = h.hexdigest()
        self._hashes[rel] = sig + [d]
        self._dirty = True
        return d

    def digest(self, rels: list[str]) -> str:
        """One digest of the named sources: names, types, modes, link targets and contents."""
        h = hashlib.sha256()
        for top in rels:
            for rel, st, host in self.walk(top):
                name = rel[len(top):] if rel != top else "."
                h.update(f"{top}\0{name}\0{stat.S_IFMT(st.st_mode)}\0{stat.S_IMODE(st.st_mode)}\0".encode())
                if stat.S_ISREG(st.st_mode):
                    h.update(self.file_digest(host, st).encode())
                elif stat.S_ISLNK(st.st_mode):
                    h.update(os.readlink(host).encode())
                h.update(b"\n")
        return "sha256:" + h.hexdigest()

    def _load_hashes(self) -> None:
        if self._tmp is not None:
            return
        key = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:32]
        self._hash_file = self.data_root.dir("builder", "hashes") / f"{key}.json"
        with contextlib.suppress(OSError, ValueError):
            self._hashes = json.loads(self._hash_file.read_text())

    def _save_hashes(self) -> None:
        if self._hash_file is not None and self._dirty:
            with contextlib.suppress(OSError):
                atomic_write(self._hash_file, json.dumps(self._hashes, separators=(",", ":")), sync=False)
            self._dirty = False


def load_context(source, dockerfile_name: str | None, data_root: DataRoot,
                 scratch: Path | None = None) -> BuildContext:
    """A BuildContext for a path or a tar stream, with its .dockerignore applied."""
    if hasattr(source, "read"):
        ctx = BuildContext.from_tar(source, data_root, scratch)
    else:
        root = Path(source)
        if not root.is_dir():
            raise BuildError(f'unable to prepare context: path "{source}" not found')
        ctx = BuildContext(root.resolve(), None, data_root)
    from engine.build.dockerignore import read_dockerignore

    try:
        ctx.ignore = read_dockerignore(ctx.root, dockerfile_name)
    except BaseException:
        ctx.close()
        raise
    return ctx
