"""The engine's data root: layout, file locks and atomic writes.

Every piece of engine state lives on disk under one directory so that it
survives the CLI exiting or crashing, and two commands running at once see a
consistent picture:

* writers take an exclusive ``flock`` on a named lock file (``DataRoot.lock``);
* files are replaced atomically (write to a temp file in the same directory,
  fsync, rename), so a reader never sees half a JSON document.

Layout (see docs/ARCHITECTURE.md)::

    $ROOT/images/       content store: blobs/sha256/<hex>, index.json (refs)
    $ROOT/layers/       unpacked layers, one directory per layer (diff id)
    $ROOT/containers/   <id>/config.json, state.json, <id>-json.log, rootfs/ ...
    $ROOT/volumes/      <name>/_data, <name>/volume.json
    $ROOT/networks/     <id>.json, IPAM leases
    $ROOT/run/          supervisor socket and pid, events
    $ROOT/locks/        lock files
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

DEFAULT_ROOT = "/var/lib/pycompose"


def root_path() -> Path:
    """The data root in use: ``$PYCOMPOSE_ROOT`` or ``/var/lib/pycompose``."""
    return Path(os.environ.get("PYCOMPOSE_ROOT") or DEFAULT_ROOT).absolute()


class DataRoot:
    """Paths and locks of one data root. Cheap to create; makes directories lazily."""

    SUBDIRS = ("images", "layers", "containers", "volumes", "networks", "run", "locks")

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path).absolute() if path else root_path()

    def __repr__(self) -> str:
        return f"DataRoot({str(self.path)!r})"

    def dir(self, name: str, *more: str, create: bool = True) -> Path:
        """``$ROOT/name/more...``, created (mode 0700 for the root) when missing."""
        p = self.path.joinpath(name, *more)
        if create:
            if not self.path.exists():
                self.path.mkdir(parents=True, exist_ok=True)
                os.chmod(self.path, 0o711)
            p.mkdir(parents=True, exist_ok=True)
        return p

    @contextlib.contextmanager
    def lock(self, name: str = "global", shared: bool = False) -> Iterator[None]:
        """Hold an flock on ``$ROOT/locks/<name>.lock`` for the ``with`` block."""
        path = self.dir("locks") / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def exclusive(self, name: str, on_busy: Callable[[int | None], None] | None = None) -> Iterator[None]:
        """Like ``lock`` (exclusive), but a waiter is told first: ``on_busy(pid of the holder or None)``
        runs once when another process holds it, then the call waits. The holder's pid is kept in
        the lock file for that message; the kernel releases the lock when the holder exits or dies."""
        path = self.dir("locks") / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_busy is not None:
                    on_busy(_holder_pid(fd))
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)


def _holder_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def atomic_write(path: str | os.PathLike, data: bytes | str, mode: int = 0o644, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix.

    ``sync=False`` skips the fsync for files that can be rebuilt after a crash (it costs
    milliseconds on the start path); the rename stays atomic."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    fd, tmp = make_temp_file(path.parent, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def make_temp_file(directory: str | os.PathLike, prefix: str = "", suffix: str = "") -> tuple[int, str]:
    """A new file of our own in ``directory`` (fd, path), as ``tempfile.mkstemp`` makes it (O_EXCL,
    mode 0600, no link followed), without that module's import (random, weakref, shutil: ~3 ms of
    each command that writes)."""
    for _ in range(100):
        tmp = f"{os.fspath(directory)}/{prefix}{os.urandom(6).hex()}{suffix}"
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", os.fspath(directory))


def remove_tree(path: str | os.PathLike) -> None:
    """What ``shutil.rmtree(path, ignore_errors=True)`` does, with os alone: shutil's import (zlib,
    bz2, lzma for its archives) was ~2 ms of every ``run --rm``, which removes one record directory.
    Bottom up through directory descriptors (os.fwalk), never following a symbolic link (a container
    may plant one in its upper dir, a layer may hold any): a link is unlinked, not entered; errors
    are skipped."""
    with contextlib.suppress(OSError):
        for _, dirs, files, dirfd in os.fwalk(path, topdown=False):
            for name in files:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=dirfd)
            for name in dirs:  # a link to a directory is listed here too: it is unlinked
                try:
                    os.rmdir(name, dir_fd=dirfd)
                except NotADirectoryError:
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=dirfd)
                except OSError:
                    pass
        os.rmdir(path)


def write_json(path: str | os.PathLike, obj: Any, sync: bool = True) -> None:
    """Atomically write ``obj`` as indented JSON (``sync``: see ``atomic_write``)."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False) + "\n", sync=sync)


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    """Read a JSON file written by ``write_json``; ``default`` when it does not exist."""
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        return default
    except OSError as e:  # pragma: no cover - e.g. EISDIR
        if e.errno == errno.ENOENT:
            return default
        raise
