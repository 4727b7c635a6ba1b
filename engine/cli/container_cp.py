"""``pycompose container cp``: docker cp's paths, flags and messages (kept apart from container.py,
which dispatches ``cp`` here); the tar streams go through ``engine.api``'s copy_to/copy_from."""
from __future__ import annotations

import io
import os
import sys
import tarfile

from engine.errors import InvalidArgument, NotFound


def _split_cp(arg: str) -> tuple[str | None, str]:
    """``CONTAINER:PATH`` -> (container, path); a local path (``./a:b``, ``/x``) -> (None, path)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    c, _, p = arg.partition(":")
    return c, p


def cp(eng, args) -> int:
    """``docker cp`` either way between a container and the local filesystem (or a tar on stdin/stdout)."""
    src_c, src = _split_cp(args.src)
    dst_c, dst = _split_cp(args.dest)
    if (src_c is None) == (dst_c is None):
        raise InvalidArgument("copying between containers is not supported" if src_c else
                              "must specify at least one container source")
    if src_c is not None:
        name = None
        if args.follow_link:
            resolved = _follow_container_link(eng, src_c, src)
            if resolved != src:
                name = os.path.basename(src.rstrip("/"))  # the content of the target, under the link's name
                src = resolved
        return _cp_from(eng, src_c, src, dst, name)
    return _cp_to(eng, src, dst_c, dst, args.archive, args.follow_link)


def _follow_container_link(eng, cref: str, path: str) -> str:
    """``cp -L``: the container path a symlink SRC_PATH points to (resolved in the container)."""
    for _ in range(40):
        st = eng.containers.path_stat(cref, path)
        if not st.get("linkTarget"):
            return path
        target = st["linkTarget"]
        path = target if target.startswith("/") else os.path.join(os.path.dirname(path.rstrip("/")) or "/", target)
    raise InvalidArgument(f"too many levels of symbolic links: {path}")


def _cp_from(eng, cref: str, path: str, dest: str, name: str | None = None) -> int:
    if dest == "-":
        eng.containers.copy_from(cref, path, sys.stdout.buffer)
        return 0
    copy_contents = path.endswith("/.")
    buf = io.BytesIO()
    eng.containers.copy_from(cref, (path[:-2] or "/") if copy_contents else path, buf)
    buf.seek(0)
    base = os.path.basename(path.rstrip("/").rstrip(".").rstrip("/")) or "root"
    if os.path.isdir(dest) and not copy_contents:
        target_dir, rename = dest, name
    elif os.path.isdir(dest) and copy_contents:
        target_dir, rename = dest, ""
    else:
        parent = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(parent):
            raise NotFound(f"destination directory does not exist: {parent}")
        target_dir, rename = parent, os.path.basename(dest)
    with tarfile.open(fileobj=buf, mode="r:") as tar:
        members = tar.getmembers()
        first = members[0].name.split("/")[0] if members else base
        keep = []
        for m in members:
            if rename is not None:
                rest = m.name[len(first):].lstrip("/")
                if rename == "":  # SRC/. : the contents, not the directory itself
                    if not rest:
                        continue
                    m.name = rest
                else:
                    m.name = rename + ("/" + rest if rest else "")
            keep.append(m)
        # the "tar" filter refuses absolute names, ".." and links leading outside the destination
        tar.extractall(target_dir, members=keep, filter="tar")
    return 0


def _cp_to(eng, src: str, cref: str, path: str, archive: bool, follow: bool = False) -> int:
    if src == "-":
        eng.containers.copy_to(cref, path, sys.stdin.buffer)
        return 0
    if not os.path.lexists(src):
        raise NotFound(f"lstat {os.path.abspath(src)}: no such file or directory")
    copy_contents = src.endswith("/.")
    try:
        st = eng.containers.path_stat(cref, path)
    except NotFound:
        st = None
    if st is not None and st["isDir"]:
        dest_dir, name = path, ("." if copy_contents else os.path.basename(os.path.abspath(src)))
    else:
        if path.endswith("/") and st is None:
            raise NotFound(f"Could not find the file {path} in container {cref}")
        dest_dir, name = os.path.dirname(path.rstrip("/")) or "/", os.path.basename(path.rstrip("/"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        if copy_contents:
            for child in sorted(os.listdir(src)):
                tar.add(os.path.join(src, child), arcname=child)
        elif follow and os.path.islink(src):
            tar.add(os.path.realpath(src), arcname=name)  # -L: what SRC_PATH points to, under its name
        else:
            tar.add(src, arcname=name)
    buf.seek(0)
    eng.containers.copy_to(cref, dest_dir, buf, keep_owner=archive)
    return 0
