"""``docker cp``: tar streams into and out of a container's filesystem.

Why careful: the container's files are controlled by whoever runs in it. A
running container is reached through ``/proc/<pid>/root`` (its own mount
namespace, volumes included); a stopped one through its overlay upper dir
(writes) and upper + image layers (reads). Every parent path is resolved
with ``secure_join`` (symlinks resolved as if the container root were ``/``),
the last component is never followed, and tar members that are absolute,
contain ``..``, or are devices are refused, so nothing lands outside the root.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tarfile
from typing import BinaryIO

from engine.errors import InvalidArgument, NotFound, UnsafeContent
from engine.images.blobs import read_chunks
from engine.runtime.securejoin import inside, mkdir_inside, secure_join


def _split(path: str) -> tuple[str, str]:
    path = "/" + path.strip("/")
    parent, name = os.path.split(path)
    return parent or "/", name


def resolve(root: str, path: str) -> str:
    """Host path of container ``path``: parents resolved inside ``root``, the last component as is."""
    parent, name = _split(path)
    host_parent = secure_join(root, parent)
    if not name:
        return host_parent
    if name == "..":
        return secure_join(root, path)
    return os.path.join(host_parent, name)


def _is_whiteout(p: str) -> bool:
    try:
        st = os.lstat(p)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def find(roots: list[str], path: str) -> tuple[str, str]:
    """(root, host path) of the first root that has ``path`` (a whiteout hides the ones below)."""
    for root in roots:
        host = resolve(root, path)
        if _is_whiteout(host):
            break
        if os.path.lexists(host):
            return root, host
    raise NotFound(f"Could not find the file {path} in container")


def path_stat(roots: list[str], path: str) -> dict:
    """Docker's container path stat (name, size, mode, mtime, linkTarget)."""
    _, host = find(roots, path)
    st = os.lstat(host)
    link = os.readlink(host) if stat.S_ISLNK(st.st_mode) else ""
    import datetime as _dt

    mtime = _dt.datetime.fromtimestamp(st.st_mtime, _dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return {"name": os.path.basename(path.rstrip("/")) or "/", "size": st.st_size, "mode": st.st_mode,
            "mtime": mtime, "linkTarget": link, "isDir": stat.S_ISDIR(st.st_mode)}


def archive_from(roots: list[str], path: str, out: BinaryIO, arcname: str | None = None) -> dict:
    """Write a tar of container ``path`` to ``out`` (symlinks stored as links, never followed)."""
    root, host = find(roots, path)
    info = path_stat(roots, path)
    name = arcname if arcname is not None else (os.path.basename(path.rstrip("/")) or ".")
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, root, host, name)
    return info


def _add(tar: tarfile.TarFile, root: str, host: str, name: str) -> None:
    st = os.lstat(host)  # children come from listdir of a real directory: never through a link
    if _is_whiteout(host):
        return
    ti = tar.gettarinfo(host, arcname=name)
    if ti is None:  # sockets
        return
    if stat.S_ISREG(st.st_mode):
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            tar.addfile(ti, f)
        return
    tar.addfile(ti)
    if stat.S_ISDIR(st.st_mode):
        for child in sorted(os.listdir(host)):
            _add(tar, root, os.path.join(host, child), f"{name}/{child}" if name != "." else child)


def _member_path(dest: str, member: str) -> str:
    parts = [p for p in member.split("/") if p and p != "."]
    if member.startswith("/") or ".." in parts:
        raise UnsafeContent(f"refusing tar member {member!r}: absolute or contains '..'")
    return "/" + "/".join([p for p in dest.split("/") if p] + parts)


def extract_into(roots: list[str], dest: str, stream: BinaryIO, keep_owner: bool = False) -> None:
    """Extract a tar stream into directory ``dest`` of the container (``docker cp`` to a container)."""
    root = roots[0]
    host_dest = secure_join(root, dest)
    if not os.path.isdir(host_dest):
        if os.path.lexists(host_dest):
            raise InvalidArgument(f"extraction point is not a directory: {dest}")
        raise NotFound(f"Could not find the file {dest} in container")
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for m in tar:
            cpath = _member_path(dest, m.name)
            if m.isdir():
                host = mkdir_inside(root, cpath, 0o755)
                dirs.append((host, m))
                continue
            parent, base = _split(cpath)
            host_parent = mkdir_inside(root, parent, 0o755)
            host = os.path.join(host_parent, base)
            if m.ischr() or m.isblk():
                raise UnsafeContent(f"refusing device node {m.name!r} in a copy")
            if os.path.lexists(host) and not os.path.isdir(host) or os.path.islink(host):
                os.unlink(host)
            elif os.path.isdir(host) and not os.path.islink(host):
                raise InvalidArgument(f"cannot overwrite directory {cpath} with non-directory {m.name}")
            if m.issym():
                os.symlink(m.linkname, host)
            elif m.islnk():
                target = secure_join(root, _member_path(dest, m.linkname))
                if not inside(root, target) or not os.path.isfile(target) or os.path.islink(target):
                    raise UnsafeContent(f"refusing hard link {m.name!r} -> {m.linkname!r}")
                os.link(target, host, follow_symlinks=False)
            elif m.isfifo():
                os.mkfifo(host, m.mode & 0o7777)
            elif m.isfile():
                src = tar.extractfile(m)
                fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    for chunk in read_chunks(src):
                        f.write(chunk)
            else:
                continue
            _meta(host, m, keep_owner)
    for host, m in reversed(dirs):
        _meta(host, m, keep_owner)


def _meta(host: str, m: tarfile.TarInfo, keep_owner: bool) -> None:
    uid, gid = (m.uid, m.gid) if keep_owner else (0, 0)
    with contextlib.suppress(OSError):
        os.chown(host, uid, gid, follow_symlinks=False)
    if not m.issym():
        with contextlib.suppress(OSError):
            os.chmod(host, m.mode & 0o7777)
    with contextlib.suppress(OSError, NotImplementedError):
        os.utime(host, (m.mtime, m.mtime), follow_symlinks=False)
