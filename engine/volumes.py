"""Named volumes: ``$ROOT/volumes/<name>/volume.json`` and ``_data`` (Docker's local driver).

A volume is a directory that outlives containers. Like Docker's ``local``
driver it can instead describe a mount (``driver_opts`` type/device/o, e.g. a
tmpfs or a bind of a host directory); the runtime performs that mount inside the
container's mount namespace, so this module only records it (``mount_info``).

On its first use a plain volume is seeded with the image's content at the mount
path (``seed``), as Docker copies it: the merged view of the image layers is
computed here (top layer first, honouring whiteouts and opaque directories),
reading only inside the layer directories and never following a symlink out.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from engine.errors import Conflict, InvalidArgument, NotFound
from engine.state import DataRoot, read_json, write_json

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
VALID_OPTS = ("type", "device", "o")
OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_HOPS = 40
InUse = Callable[[str], object]


def validate_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path')


def _users(result) -> list[str]:
    if not result:
        return []
    if isinstance(result, str):
        return [result]
    if isinstance(result, (list, tuple, set)):
        return [str(x) for x in result]
    return ["(a container)"]


class VolumeStore:
    """Volumes of one data root."""

    def __init__(self, root: DataRoot | str | os.PathLike | None = None):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.dir = self.root.dir("volumes")

    def _meta_path(self, name: str) -> Path:
        return self.dir / name / "volume.json"

    def _read(self, name: str) -> dict:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise NotFound(f"get {name}: no such volume")
        meta = read_json(self._meta_path(name))
        if meta is None:
            raise NotFound(f"get {name}: no such volume")
        return meta

    def _public(self, meta: dict) -> dict:
        return {
            "CreatedAt": meta["CreatedAt"],
            "Driver": meta["Driver"],
            "Labels": dict(meta.get("Labels") or {}),
            "Mountpoint": str(self.dir / meta["Name"] / "_data"),
            "Name": meta["Name"],
            "Options": dict(meta.get("Options") or {}),
            "Scope": "local",
        }

    # --- create / read ----------------------------------------------------------------------
    def create(self, name: str | None = None, driver: str = "local", labels: dict | None = None,
               driver_opts: dict | None = None) -> dict:
        """Create (or return the existing) volume; Docker's Volume JSON."""
        driver = driver or "local"
        where = f"create {name}: " if name else ""
        if driver != "local":
            raise InvalidArgument(f'{where}error looking up volume plugin {driver}: plugin "{driver}" not found')
        labels = {str(k): "" if v is None else str(v) for k, v in (labels or {}).items()}
        opts = {str(k): "" if v is None else str(v) for k, v in (driver_opts or {}).items()}
        for k in opts:
            if k not in VALID_OPTS:
                raise InvalidArgument(f'{where}invalid option key: "{k}"')
        if opts:
            if not opts.get("type"):
                raise InvalidArgument(f'{where}missing required option: "type"')
            if opts["type"] != "tmpfs" and not opts.get("device"):
                raise InvalidArgument(f'{where}missing required option: "device"')
            if "bind" in opts.get("o", "").split(",") and not os.path.isabs(opts.get("device", "")):
                raise InvalidArgument(f"{where}bind device must be an absolute path")
        if name is None or name == "":
            name = secrets.token_hex(32)
            labels.setdefault(ANONYMOUS_LABEL, "")
        validate_name(name)
        with self.root.lock("volumes"):
            existing = read_json(self._meta_path(name))
            if existing is not None:
                return self._public(existing)
            self._sweep()
            meta = {
                "Name": name,
                "Driver": driver,
                "Labels": labels,
                "Options": opts,
                "CreatedAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Seeded": False,
            }
            tmp = Path(tempfile.mkdtemp(dir=self.dir, prefix=f".new-{name[:40]}-"))
            try:
                os.chmod(tmp, 0o701)
                (tmp / "_data").mkdir(mode=0o755)
                os.chmod(tmp / "_data", 0o755)
                write_json(tmp / "volume.json", meta)
                os.rename(tmp, self.dir / name)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return self._public(meta)

    def get(self, name: str) -> dict:
        return self._public(self._read(name))

    inspect = get

    def exists(self, name: str) -> bool:
        try:
            self._read(name)
            return True
        except NotFound:
            return False

    def mountpoint(self, name: str) -> Path:
        self._read(name)
        return self.dir / name / "_data"

    def mount_info(self, name: str) -> dict | None:
        """What the runtime must mount for a volume with driver options, else None (a plain dir).

        ``{"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000"}`` or
        ``{"type": "none", "device": "/srv/data", "o": "bind"}``, as ``mount -t type -o o device``.
        """
        opts = self._read(name).get("Options") or {}
        if not opts:
            return None
        return {"type": opts.get("type", ""), "device": opts.get("device", ""), "o": opts.get("o", "")}

    def ensure(self, name: str, labels: dict | None = None) -> Path:
        """The mountpoint of ``name``, creating the volume first if it does not exist."""
        if not self.exists(name):
            self.create(name, labels=labels)
        return self.dir / name / "_data"

    def list(self, filters: dict[str, list[str]] | None = None, in_use: InUse | None = None) -> list[dict]:
        """Volumes matching docker's filters (name=, label=, label!=, driver=, dangling=)."""
        for key in filters or {}:
            if key not in ("name", "driver", "label", "label!", "dangling"):
                raise InvalidArgument(f"invalid filter '{key}'")
        out = []
        for d in sorted(self.dir.iterdir()):
            if d.name.startswith("."):
                continue
            meta = read_json(d / "volume.json")
            if meta is None:
                continue
            vol = self._public(meta)
            if _match(vol, filters or {}, in_use):
                out.append(vol)
        return out

    # --- remove / prune ----------------------------------------------------------------------------
    def remove(self, name: str, force: bool = False, in_use: InUse | None = None) -> None:
        """Delete a volume and its data; refused while a container uses it (even with force)."""
        with self.root.lock("volumes"):
            self._sweep()
            try:
                self._read(name)
            except NotFound:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume") from None
            users = _users(in_use(name)) if in_use else []
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self._delete(name)

    def _sweep(self) -> None:
        """Remove what a killed command left: a create's ``.new-`` directory, a remove's ``.del-``
        trash. Called under the ``volumes`` lock, which creates hold: nothing live is touched."""
        for d in self.dir.iterdir():
            if d.name.startswith((".new-", ".del-")):
                shutil.rmtree(d, ignore_errors=True)

    def _delete(self, name: str) -> None:
        trash = Path(tempfile.mkdtemp(dir=self.dir, prefix=".del-"))
        os.rename(self.dir / name, trash / "v")
        shutil.rmtree(trash, ignore_errors=True)

    def prune(self, filters: dict[str, list[str]] | None = None, in_use: InUse | None = None,
              all: bool = False) -> dict:
        """Remove unused volumes: anonymous ones only, or every unused one with ``all``
        (or the ``all=true`` filter), as Docker 23+ does. Docker's prune report."""
        filters = dict(filters or {})
        all_f = filters.pop("all", None)
        if all_f:
            all = str(list(all_f)[-1] if not isinstance(all_f, str) else all_f).lower() in ("1", "true")
        deleted, reclaimed = [], 0
        for vol in self.list(filters):
            if not all and ANONYMOUS_LABEL not in vol["Labels"]:
                continue
            with self.root.lock("volumes"):
                if in_use and _users(in_use(vol["Name"])):
                    continue
                if not self.exists(vol["Name"]):
                    continue
                size = _du(self.dir / vol["Name"] / "_data")
                self._delete(vol["Name"])
            deleted.append(vol["Name"])
            reclaimed += size
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # --- seeding ----------------------------------------------------------------------------------
    def seed(self, name: str, layer_dirs: Iterable[os.PathLike], path_in_image: str) -> None:
        """Copy the image's content at ``path_in_image`` into the volume, on its first use only.

        ``layer_dirs`` lowest first (as ``ImageRecord.layer_dirs()`` returns them). Nothing is
        copied when the volume already has content, was seeded before, or is a tmpfs/bind volume
        (those are mounted by the runtime; Docker copies into them after mounting).
        """
        with self.root.lock(f"volume-{name[:64]}"):
            meta = self._read(name)
            if meta.get("Seeded") or meta.get("Options"):
                return
            data = self.dir / name / "_data"
            if not any(os.scandir(data)):
                contributors = _resolve_in_image([Path(d) for d in reversed(list(layer_dirs))], path_in_image)
                if contributors and stat.S_ISDIR(os.lstat(contributors[0]).st_mode):
                    fd = os.open(data, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                    try:
                        st = os.lstat(contributors[0])
                        os.fchown(fd, st.st_uid, st.st_gid)
                        os.fchmod(fd, stat.S_IMODE(st.st_mode))
                        _copy_merged(contributors, fd)
                    finally:
                        os.close(fd)
            meta["Seeded"] = True
            write_json(self._meta_path(name), meta)


# --- the merged view of image layers --------------------------------------------------------------

def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(p: Path) -> bool:
    try:
        return os.getxattr(p, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _step(contributors: list[Path], name: str) -> list[Path]:
    """Layer paths (top first) making up ``name`` inside the merged dir ``contributors``.

    [] when absent or whited out; [path] for a non-directory; several for a directory
    merged across layers, down to the first opaque one.
    """
    out: list[Path] = []
    for d in contributors:
        p = d / name
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if _is_whiteout(st):
            break
        if stat.S_ISDIR(st.st_mode):
            out.append(p)
            if _is_opaque(p):
                break
        else:
            if not out:
                out.append(p)
            break
    return out


def _resolve_in_image(top_first: list[Path], path: str) -> list[Path]:
    """Contributors of ``path`` in the merged image, following symlinks inside the image only."""
    todo = [c for c in path.split("/") if c not in ("", ".")]
    cur_parts: list[str] = []
    hops = 0
    while True:
        contributors = list(top_first)
        for c in cur_parts:
            contributors = _step(contributors, c)
        if not todo:
            return contributors
        c = todo.pop(0)
        if c == "..":
            if cur_parts:
                cur_parts.pop()
            continue
        nxt = _step(contributors, c)
        if not nxt:
            return []
        if len(nxt) == 1 and os.path.islink(nxt[0]):
            hops += 1
            if hops > _MAX_HOPS:
                return []
            target = os.readlink(nxt[0])
            if target.startswith("/"):
                cur_parts = []
            todo = [x for x in target.split("/") if x not in ("", ".")] + todo
            continue
        if len(nxt) == 1 and not nxt[0].is_dir() and todo:
            return []
        cur_parts.append(c)


def _copy_merged(contributors: list[Path], dfd: int) -> None:
    """Copy the merged directory ``contributors`` into the directory fd ``dfd``."""
    names: list[str] = []
    seen = set()
    for d in contributors:
        with os.scandir(d) as it:
            for e in it:
                if e.name not in seen:
                    seen.add(e.name)
                    names.append(e.name)
    for name in sorted(names):
        parts = _step(contributors, name)
        if not parts:
            continue
        src = parts[0]
        st = os.lstat(src)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=dfd)
            cfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            try:
                _copy_merged(parts, cfd)
                _meta_fd(cfd, st)
            finally:
                os.close(cfd)
        elif stat.S_ISREG(mode):
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
            try:
                with open(src, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as inp:
                    while True:
                        buf = inp.read(1 << 20)
                        if not buf:
                            break
                        os.write(out, buf)
                _meta_fd(out, st)
            finally:
                os.close(out)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), name, dir_fd=dfd)
            with contextlib.suppress(PermissionError):
                os.chown(name, st.st_uid, st.st_gid, dir_fd=dfd, follow_symlinks=False)
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dfd, follow_symlinks=False)
        elif stat.S_ISFIFO(mode):
            os.mkfifo(name, stat.S_IMODE(mode), dir_fd=dfd)
        # devices and sockets are not copied into volumes


def _meta_fd(fd: int, st: os.stat_result) -> None:
    try:
        os.fchown(fd, st.st_uid, st.st_gid)
    except PermissionError:
        pass
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _du(path: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for f in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def _match(vol: dict, filters: dict[str, list[str]], in_use: InUse | None) -> bool:
    for key, values in filters.items():
        if isinstance(values, str):
            values = [values]
        if not values:
            continue
        labels = vol["Labels"]
        if key == "name":
            if not any(re.search(v, vol["Name"]) if _is_regex(v) else v in vol["Name"] for v in values):
                return False
        elif key == "driver":
            if vol["Driver"] not in values:
                return False
        elif key == "label":
            for v in values:
                k, eq, val = v.partition("=")
                if k not in labels or (eq and labels[k] != val):
                    return False
        elif key == "label!":
            for v in values:
                k, eq, val = v.partition("=")
                if k in labels and (not eq or labels[k] == val):
                    return False
        elif key == "dangling":
            want = str(values[-1]).lower() in ("1", "true")
            used = bool(_users(in_use(vol["Name"]))) if in_use else False
            if want == used:
                return False
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return True


def _is_regex(v: str) -> bool:
    try:
        re.compile(v)
        return any(c in v for c in "^$*+?[]()|\\")
    except re.error:
        return False

