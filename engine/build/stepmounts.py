"""``RUN --mount`` for one build step: cache, bind, secret and tmpfs, as runtime mounts.

Why a module of its own: every kind has a host side that must exist before the
step and go away after it (a lock on a cache dir, a scratch upper for a writable
bind, a secret file on tmpfs), and none of it may end up in the step's layer.
``StepMounts`` makes the host side, hands the runtime plain ``Mount`` objects
(mounted only inside the step's own mount namespace) and undoes everything in
``close()``, whatever happened in between.

* cache: ``$ROOT/build/cachemounts/<sha256(id)>/data``, kept between builds;
  ``sharing=shared`` (default) lets steps use it at once, ``locked`` waits for the
  others, ``private`` takes a fresh throw-away dir when another step holds it;
  ``uid``/``gid``/``mode`` apply when the dir is first made (BuildKit's rules).
* bind: from a directory (the build context, or a stage's layer dirs stacked as a
  read-only overlay), ``source`` inside it; read-only unless ``rw``, and then the
  writes go to a scratch upper that is thrown away.
* secret: the content written to a file on tmpfs (``/dev/shm``), mode 0400 by
  default, bind-mounted read-only at ``/run/secrets/<id>`` or ``target``.
* tmpfs: a tmpfs of ``size`` bytes.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.build.layerdiff import _LowerView
from engine.errors import InvalidArgument, NotFound
from engine.runtime.securejoin import secure_join
from engine.runtime.spec import Mount
from engine.state import DataRoot

SHARINGS = ("shared", "private", "locked")
# lower dirs shared with other mounts (the context, a stage's layers): no inodes index, like the root's
_OVERLAY_EXTRA = ",index=off" if os.path.exists("/sys/module/overlay/parameters/index") else ""
SECRET_DIR = "/dev/shm"


@dataclass
class StepMount:
    """One ``RUN --mount``; the builder resolves ``from=`` and secrets into ``source``/``layers``/``data``.

    ``source``: bind: the host directory (build context) holding ``subpath``; secret: a file
    with the secret's content (or give ``data``). ``layers``: bind from a stage or image: its
    unpacked layer dirs, top first (``source`` unused then). ``readonly``: None = the type's
    default (bind and secret read-only, cache and tmpfs writable).
    """

    type: str  # "cache" | "bind" | "secret" | "tmpfs"
    target: str = ""
    source: Path | None = None
    readonly: bool | None = None
    id: str = ""
    subpath: str = ""  # bind: path inside the source (Dockerfile's source=)
    layers: list[Path] = field(default_factory=list)
    sharing: str = "shared"
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None
    size: int | None = None  # tmpfs bytes
    required: bool = False  # secret: fail when there is no content
    data: bytes | None = None  # secret content given directly


def cache_mount_root(root: DataRoot) -> Path:
    """Where cache mounts live (``builder prune`` empties it)."""
    return root.dir("build", "cachemounts")


def cache_mount_dir(root: DataRoot, cache_id: str) -> Path:
    return cache_mount_root(root) / hashlib.sha256(cache_id.encode()).hexdigest()


class StepMounts:
    """The host side of a step's mounts; use as a context manager or call ``close()``."""

    def __init__(self, root: DataRoot, scratch: Path):
        self.root, self.scratch = root, scratch
        self._locks: list[int] = []
        self._remove: list[Path] = []
        self.mounts: list[Mount] = []

    def __enter__(self) -> "StepMounts":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add_all(self, mounts: list[StepMount]) -> list[Mount]:
        for m in mounts:
            target = _target(m)
            kind = m.type
            if kind == "cache":
                self.mounts.append(self._cache(m, target))
            elif kind == "bind":
                self.mounts.append(self._bind(m, target))
            elif kind == "secret":
                made = self._secret(m, target)
                if made is not None:
                    self.mounts.append(made)
            elif kind == "tmpfs":
                self.mounts.append(Mount(type="tmpfs", target=target, tmpfs_size=m.size,
                                         readonly=bool(m.readonly), flags=["nosuid", "nodev", "exec"]))
            else:
                raise InvalidArgument(f"unsupported mount type {kind!r} (cache, bind, secret, tmpfs)")
        seen = set()
        for mm in self.mounts:
            if mm.target in seen:
                raise InvalidArgument(f"duplicate mount target {mm.target}")
            seen.add(mm.target)
        return self.mounts

    # ------------------------------------------------------------------ cache
    def _cache(self, m: StepMount, target: str) -> Mount:
        sharing = m.sharing or "shared"
        if sharing not in SHARINGS:
            raise InvalidArgument(f"invalid cache sharing {sharing!r}: shared, private or locked")
        base = cache_mount_dir(self.root, m.id or target)
        base.mkdir(parents=True, exist_ok=True)
        fd = os.open(base / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._locks.append(fd)
        data = base / "data"
        if sharing == "shared":
            fcntl.flock(fd, fcntl.LOCK_SH)
        elif sharing == "locked":
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                data = Path(tempfile.mkdtemp(dir=self.scratch, prefix="cache-private-")) / "data"
                self._remove.append(data.parent)
        if not data.is_dir():
            _make_owned_dir(data, m.uid or 0, m.gid or 0, 0o755 if m.mode is None else m.mode)
        return Mount(type="bind", target=target, source=str(data), readonly=bool(m.readonly))

    # ------------------------------------------------------------------ bind
    def _bind(self, m: StepMount, target: str) -> Mount:
        ro = True if m.readonly is None else m.readonly
        if m.layers:
            return self._bind_layers(m, target, ro)
        if m.source is None:
            raise InvalidArgument(f"bind mount at {target}: no source")
        host = secure_join(str(m.source), m.subpath or "/")
        if not os.path.lexists(host):
            raise NotFound(f"bind mount at {target}: source {m.subpath or '/'} not found")
        if ro or not os.path.isdir(host):
            # a file, or read-only: a plain bind (a read-only file needs no discarded upper)
            return Mount(type="bind", target=target, source=host, readonly=ro or not os.path.isdir(host))
        return self._overlay(target, [Path(host)], writable=True)

    def _bind_layers(self, m: StepMount, target: str, ro: bool) -> Mount:
        sub = [c for c in (m.subpath or "").split("/") if c and c != "."]
        if ".." in sub:
            raise InvalidArgument(f"bind mount at {target}: source {m.subpath!r} leaves its stage")
        rel = "/".join(sub)
        if rel:
            st = _LowerView(list(m.layers)).stat(rel)
            if st is None:
                raise NotFound(f"bind mount at {target}: source {m.subpath} not found")
            if not stat.S_ISDIR(st.st_mode):
                top = next(p for p in m.layers if os.path.lexists(os.path.join(p, rel)))
                return Mount(type="bind", target=target, source=secure_join(str(top), rel), readonly=True)
        dirs = [Path(os.path.join(p, rel)) if rel else Path(p) for p in m.layers]
        dirs = [d for d in dirs if d.is_dir() and not d.is_symlink()] or [self._empty()]
        if ro and len(dirs) == 1:
            return Mount(type="bind", target=target, source=str(dirs[0]), readonly=True)
        return self._overlay(target, dirs, writable=not ro)

    def _overlay(self, target: str, lowers: list[Path], writable: bool) -> Mount:
        if writable:
            d = Path(tempfile.mkdtemp(dir=self.scratch, prefix="bind-"))
            self._remove.append(d)
            (d / "upper").mkdir()
            (d / "work").mkdir()
            data = (f"lowerdir={':'.join(map(str, lowers))},upperdir={d / 'upper'},workdir={d / 'work'}"
                    f"{_OVERLAY_EXTRA}")
        else:
            if len(lowers) == 1:
                lowers = lowers + [self._empty()]
            data = f"lowerdir={':'.join(map(str, lowers))}"
        if len(data) > 3800:
            raise InvalidArgument(f"bind mount at {target}: too many layers for one mount")
        return Mount(type="volume", target=target, fstype="overlay", device="overlay", data=data,
                     readonly=not writable)

    def _empty(self) -> Path:
        p = self.scratch / "empty"
        p.mkdir(exist_ok=True)
        return p

    # ------------------------------------------------------------------ secret
    def _secret(self, m: StepMount, target: str) -> Mount | None:
        data = m.data
        if data is None and m.source is not None:
            try:
                data = Path(m.source).read_bytes()
            except OSError as e:
                raise InvalidArgument(f"secret {m.id}: cannot read {m.source}: {e.strerror}") from None
        if data is None:
            if m.required:
                raise NotFound(f"secret {m.id} not found")
            return None
        base = Path(SECRET_DIR) if os.path.isdir(SECRET_DIR) else self.scratch
        d = Path(tempfile.mkdtemp(dir=base, prefix="pycompose-secret-"))
        self._remove.append(d)
        f = d / "secret"
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, m.uid or 0, m.gid or 0)
            os.fchmod(fd, 0o400 if m.mode is None else m.mode)
        finally:
            os.close(fd)
        os.chmod(d, 0o711)  # the step's user reaches the file through its bind; nobody lists the dir
        return Mount(type="bind", target=target, source=str(f), readonly=True)

    # ------------------------------------------------------------------ undo
    def close(self) -> None:
        for fd in self._locks:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing drops the flock
        self._locks.clear()
        for d in self._remove:
            shutil.rmtree(d, ignore_errors=True)
        self._remove.clear()


def _target(m: StepMount) -> str:
    target = m.target
    if m.type == "secret" and not target:
        if not m.id:
            raise InvalidArgument("secret mount needs an id or a target")
        target = f"/run/secrets/{m.id}"
    if not target:
        raise InvalidArgument(f"{m.type} mount needs a target")
    if not target.startswith("/"):
        target = "/" + target
    t = os.path.normpath(target)
    if t == "/":
        raise InvalidArgument(f"{m.type} mount cannot be mounted at /")
    return t


def _make_owned_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".new-"))
    try:
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
