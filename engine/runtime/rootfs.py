"""The container's root filesystem, built inside its own mount namespace.

Runs in the forked container process only. Order follows runc's
rootfs_linux.go, for the same reasons:

1. make every mount rslave first, so nothing we mount propagates back to the
   host (the host keeps an empty ``merged`` dir; there is nothing to leak);
2. overlay root, then /proc, /dev, /sys, the user's mounts (parents before
   children) and the /etc files, all *under the new root*, with targets
   resolved inside it (an image symlink cannot point a mount at the host);
3. ``pivot_root(".", ".")`` and a lazy unmount of the old root, so the host
   tree is unreachable (unlike chroot);
4. after the kernel knobs are set (sysctls need a writable /proc/sys):
   masked paths, read-only paths, then the read-only root.
"""
from __future__ import annotations

import os
import re
import stat
from typing import Callable

from engine import sys as ksys
from engine.runtime import kernel
from engine.runtime.errors import StartError
from engine.runtime.mountflags import PROPAGATION, current_flags, parse_options
from engine.runtime.securejoin import create_inside, inside, mkdir_inside, secure_join
from engine.runtime.spec import ContainerSpec, Mount

# Device nodes every container gets (runc's default devices): name, major, minor.
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
           ("tty", 5, 0))
DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
             ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore"), ("ptmx", "pts/ptmx"))
_PROC_FLAGS = ksys.MS_NOSUID | ksys.MS_NOEXEC | ksys.MS_NODEV


def _mount_target(root: str, path: str, is_dir: bool) -> str:
    """Create ``path`` inside ``root`` and return a path that cannot leave it.

    The target is opened with O_PATH and re-checked through /proc/self/fd, so
    a symlink swapped in after resolution is not followed onto the host.
    """
    host = create_inside(root, path, is_dir)
    fd = os.open(host, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    real = os.readlink(f"/proc/self/fd/{fd}")
    os.close(fd)
    if not inside(root, real):
        raise PermissionError(f"mount target {path} resolves outside the container root")
    return real


# Like Docker's overlay2: with the inodes index on (a kernel default on some distros), a
# container restarted on other lower dirs, or layers shared by many mounts, can be refused.
_OVERLAY_EXTRA = ",index=off" if os.path.exists("/sys/module/overlay/parameters/index") else ""
# The upper dir must hold whole files and whole renamed dirs: it is what `commit` and a build step's
# layer are made of. Like Docker's overlay2, refuse metadata-only copy-ups and redirects even where
# the host turned them on by default.
for _opt in ("metacopy", "redirect_dir"):
    if os.path.exists(f"/sys/module/overlay/parameters/{_opt}"):
        _OVERLAY_EXTRA += f",{_opt}=off"


def mount_overlay(spec: ContainerSpec) -> None:
    layers = [str(p) for p in reversed(spec.layers)]  # overlay wants the top layer first
    if not layers:
        empty = spec.container_dir / "empty"
        empty.mkdir(exist_ok=True)
        layers = [str(empty)]
    data = f"lowerdir={':'.join(layers)},upperdir={spec.upper},workdir={spec.work}{_OVERLAY_EXTRA}"
    if len(data) > 4000:
        # The option string is one page at most: name each layer by a short
        # /proc/self/fd/N path instead (overlayfs resolves it when mounting).
        fds = [os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for p in layers]
        data = (f"lowerdir={':'.join(f'/proc/self/fd/{fd}' for fd in fds)},upperdir={spec.upper},"
                f"workdir={spec.work}{_OVERLAY_EXTRA}")
        if len(data) > 4000:
            raise StartError(f"too many image layers ({len(layers)}) for one overlay mount", 125)
        try:
            kernel.current().mount("overlay", str(spec.merged), "overlay", 0, data)
        finally:
            for fd in fds:
                os.close(fd)
        return
    kernel.current().mount("overlay", str(spec.merged), "overlay", 0, data)


def mount_dev(spec: ContainerSpec, root: str, console: Callable[[str], int | None] | None = None) -> None:
    dev = _mount_target(root, "/dev", True)
    kernel.current().mount("tmpfs", dev, "tmpfs", ksys.MS_NOSUID | ksys.MS_STRICTATIME, "mode=755,size=65536k")
    old = os.umask(0)
    try:
        if spec.privileged:
            _copy_host_devices(dev)
        for name, major, minor in DEVICES:
            p = f"{dev}/{name}"
            if not os.path.lexists(p):
                kernel.current().mknod(p, stat.S_IFCHR | 0o666, major, minor)
        for d in spec.devices:
            _make_device(root, d)
        for name, target in DEV_LINKS:
            if not os.path.lexists(f"{dev}/{name}"):
                os.symlink(target, f"{dev}/{name}")
        for d, mode in (("pts", 0o755), ("shm", 0o1777), ("mqueue", 0o755)):
            if not os.path.isdir(f"{dev}/{d}"):
                os.mkdir(f"{dev}/{d}", mode)
    finally:
        os.umask(old)
    kernel.current().mount("devpts", f"{dev}/pts", "devpts", ksys.MS_NOSUID | ksys.MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620,gid=5")
    if spec.shm_source:
        m = _OTHER_NS_PATH.match(spec.shm_source)
        if m:
            _bind_from_other_namespace(f"/proc/{m.group(1)}/ns/mnt", m.group(2), f"{dev}/shm")
        else:
            kernel.current().mount(spec.shm_source, f"{dev}/shm", None, ksys.MS_BIND | ksys.MS_REC)
    elif not spec.ipc_none:
        kernel.current().mount("shm", f"{dev}/shm", "tmpfs", _PROC_FLAGS, f"mode=1777,size={spec.shm_size}")
    kernel.current().mount("mqueue", f"{dev}/mqueue", "mqueue", _PROC_FLAGS)
    tty = console(root) if console else None
    if tty is not None:
        _bind_console(tty, dev, root)


def _bind_console(tty: int, dev: str, root: str) -> None:
    """Like runc, make the container's terminal its /dev/console too.

    A pty of the container's devpts binds directly. A host pty is bound by its
    path in this namespace (a bind from the caller's mount is refused); when
    that path cannot be found (stacked devpts mounts), there is no /dev/console.
    """
    if _in_root(tty, root):
        src = f"/proc/self/fd/{tty}"
    else:
        try:
            src = os.ttyname(tty)
        except OSError:
            return
    with open(f"{dev}/console", "w"):
        pass
    try:
        kernel.current().mount(src, f"{dev}/console", None, ksys.MS_BIND)
    except OSError:
        os.unlink(f"{dev}/console")


_OTHER_NS_PATH = re.compile(r"^/proc/(\d+)/root(/.*)$")


def _bind_from_other_namespace(mnt_ns: str, path: str, target: str) -> None:
    """Bind ``path`` as another mount namespace sees it (e.g. a container's /dev/shm) onto ``target``.

    The kernel refuses a plain bind from a foreign mount namespace, so we step
    into it, clone the mount tree detached (open_tree), step back and attach
    the clone here (move_mount). Nothing is mounted on the host for it.
    """
    own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    other = os.open(mnt_ns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        kernel.current().setns(other, ksys.CLONE_NEWNS, f"mount namespace {mnt_ns}")
        try:
            tree = kernel.current().open_tree(path)
        finally:
            kernel.current().setns(own, ksys.CLONE_NEWNS, "own mount namespace")
        try:
            kernel.current().move_mount_fd(tree, target)
        finally:
            os.close(tree)
    finally:
        os.close(own)
        os.close(other)


def _in_root(fd: int, root: str) -> bool:
    """Is the open file ``fd`` under ``root`` (a pty of the container's own devpts)?"""
    try:
        return inside(root, os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return False


def _make_device(root: str, d) -> None:
    """A ``--device`` node at its container path (usually under /dev, already a tmpfs)."""
    parent = mkdir_inside(root, os.path.dirname(d.path))
    p = os.path.join(parent, os.path.basename(d.path))
    if os.path.lexists(p):
        os.unlink(p)
    kernel.current().mknod(p, (stat.S_IFCHR if d.kind == "c" else stat.S_IFBLK) | d.mode, d.major, d.minor)
    os.chown(p, d.uid, d.gid)


def _copy_host_devices(dev: str) -> None:
    """Privileged containers see the host's device nodes, as with Docker."""
    for name in os.listdir("/dev"):
        try:
            st = os.lstat(f"/dev/{name}")
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            try:
                os.mknod(f"{dev}/{name}", st.st_mode, st.st_rdev)
                os.chown(f"{dev}/{name}", st.st_uid, st.st_gid)
            except OSError:
                pass


def _mount_at(root: str, path: str, is_dir: bool, source, fstype, flags: int, data) -> str:
    """Mount onto ``path`` inside ``root`` through an O_PATH fd of the resolved target.

    The fd pins the very directory that was checked to be inside the root, so a
    symlink swapped in meanwhile (e.g. by another container sharing a volume)
    cannot redirect the mount onto the host. Returns the target's path.
    """
    host = create_inside(root, path, is_dir)
    fd = os.open(host, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
        if not inside(root, real):
            raise PermissionError(f"mount target {path} resolves outside the container root")
        try:
            kernel.current().mount(source, f"/proc/self/fd/{fd}", fstype, flags, data)
        except OSError as e:
            raise OSError(e.errno, f"mount {path} in the container: {os.strerror(e.errno or 0)}") from None
    finally:
        os.close(fd)
    return real


def mount_user(m: Mount, root: str) -> None:
    """One bind/volume/tmpfs mount of the user, its target kept inside ``root``."""
    if m.type == "tmpfs":
        flags, data = parse_options(m.flags, ksys.MS_NOSUID | ksys.MS_NODEV | ksys.MS_NOEXEC)
        if m.readonly:
            flags |= ksys.MS_RDONLY
        if m.tmpfs_size:
            data = [d for d in data if not d.startswith("size=")] + [f"size={m.tmpfs_size}"]
        if m.tmpfs_mode is not None:
            data = [d for d in data if not d.startswith("mode=")] + [f"mode={m.tmpfs_mode:o}"]
        target = _mount_at(root, m.target, True, "tmpfs", "tmpfs", flags, ",".join(data) or None)
    elif m.fstype and not _is_bind_volume(m):
        # a volume with driver options: its own filesystem (tmpfs, or whatever type/device say)
        flags, data = parse_options(m.data.split(","))
        if m.readonly:
            flags |= ksys.MS_RDONLY
        target = _mount_at(root, m.target, True, m.device or m.fstype, m.fstype, flags, ",".join(data) or None)
    elif m.subpath:
        target = _bind_subpath(m, root)
    else:
        src = m.device if m.fstype else m.source
        target = _mount_at(root, m.target, os.path.isdir(src), src, None, ksys.MS_BIND | ksys.MS_REC, None)
        if m.readonly:
            kernel.current().mount(src, target, None,
                       ksys.MS_BIND | ksys.MS_REMOUNT | ksys.MS_RDONLY | current_flags(target))
    if m.propagation:
        kernel.current().mount(None, target, None, PROPAGATION[m.propagation])


def _bind_subpath(m: Mount, root: str) -> str:
    """Bind a directory inside a volume, resolved inside the volume right now and pinned by an fd."""
    vol = m.source
    fd = os.open(secure_join(vol, m.subpath), os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not inside(vol, os.readlink(f"/proc/self/fd/{fd}")):
            raise PermissionError(f"volume subpath {m.subpath} resolves outside volume {m.volume_name}")
        target = _mount_at(root, m.target, True, f"/proc/self/fd/{fd}", None, ksys.MS_BIND | ksys.MS_REC, None)
    finally:
        os.close(fd)
    if m.readonly:
        kernel.current().mount(None, target, None, ksys.MS_BIND | ksys.MS_REMOUNT | ksys.MS_RDONLY | current_flags(target))
    return target


def _is_bind_volume(m: Mount) -> bool:
    return m.fstype == "none" or "bind" in m.data.split(",") or "rbind" in m.data.split(",")


def _depth(m: Mount) -> int:
    return len([c for c in m.target.split("/") if c])


def prepare(spec: ContainerSpec, console: Callable[[str], int | None] | None = None) -> None:
    """Everything before pivot_root; runs in the container's new mount namespace.

    ``console(root)`` is called once devpts is mounted and returns the tty fd
    to bind onto /dev/console (or None).
    """
    kernel.current().mount(None, "/", None, ksys.MS_SLAVE | ksys.MS_REC)
    mount_overlay(spec)
    root = str(spec.merged)
    kernel.current().mount("proc", _mount_target(root, "/proc", True), "proc", _PROC_FLAGS)
    mount_dev(spec, root, console)
    sys_flags = _PROC_FLAGS | (0 if spec.privileged else ksys.MS_RDONLY)
    sysdir = _mount_target(root, "/sys", True)
    try:
        kernel.current().mount("sysfs", sysdir, "sysfs", sys_flags)
    except PermissionError:
        # Joined a network namespace we may not mount sysfs for: bind the host's, read-only.
        kernel.current().mount("/sys", sysdir, None, ksys.MS_BIND | ksys.MS_REC)
        kernel.current().mount("/sys", sysdir, None, ksys.MS_BIND | ksys.MS_REMOUNT | sys_flags)
    targets = set()
    for m in sorted(spec.mounts, key=_depth):
        mount_user(m, root)
        targets.add(os.path.normpath(m.target))
    for path, src in spec.etc_files.items():
        if path in targets or not os.path.exists(src):
            continue
        _mount_at(root, path, False, str(src), None, ksys.MS_BIND, None)
    mkdir_inside(root, spec.process.cwd or "/")


def pivot(root: str) -> None:
    """Make ``root`` the container's / and drop every reference to the host tree."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(root, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    os.fchdir(new)
    kernel.current().pivot_root(".", ".")
    os.fchdir(old)
    # The old root is stacked on "."; keep its unmount from propagating anywhere.
    kernel.current().mount(None, ".", None, ksys.MS_SLAVE | ksys.MS_REC)
    kernel.current().umount2(".", ksys.MNT_DETACH)
    os.chdir("/")
    os.close(old)
    os.close(new)


def finish(spec: ContainerSpec) -> None:
    """After pivot_root and sysctls: masked paths, read-only paths, read-only root."""
    if not spec.privileged:
        for p in spec.masked_paths:
            try:
                st = os.stat(p)
            except OSError:
                continue  # this kernel lacks it
            if stat.S_ISDIR(st.st_mode):
                kernel.current().mount("tmpfs", p, "tmpfs", ksys.MS_RDONLY)
            else:
                kernel.current().mount("/dev/null", p, None, ksys.MS_BIND)
        for p in spec.readonly_paths:
            if not os.path.exists(p):
                continue
            kernel.current().mount(p, p, None, ksys.MS_BIND | ksys.MS_REC)
            kernel.current().mount(p, p, None, ksys.MS_BIND | ksys.MS_REMOUNT | ksys.MS_RDONLY | ksys.MS_REC
                       | current_flags(p))
    if spec.readonly_rootfs:
        kernel.current().mount(None, "/", None, ksys.MS_BIND | ksys.MS_REMOUNT | ksys.MS_RDONLY | current_flags("/"))
