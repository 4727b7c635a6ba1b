"""Thin ctypes bindings for the Linux syscalls Python 3.11 lacks.

Why here: ``os`` has no unshare/setns/mount/pivot_root/capset in 3.11, and the
container runtime needs them in a forked child where nothing may be imported
lazily. Every wrapper raises ``OSError`` whose message names the call and the
object it acted on (``mount /x/merged: No such file or directory``), so a
failure deep inside container setup still tells the user what went wrong.
Nothing else lives here: policy belongs to ``engine.runtime``.
"""
from __future__ import annotations

import ctypes
import os
import platform

_libc = ctypes.CDLL(None, use_errno=True)

# --- clone / unshare / setns flags (linux/sched.h) ---------------------------
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_FILES = 0x00000400
CLONE_FS = 0x00000200

# namespace file name under /proc/<pid>/ns -> CLONE_* type, in the order they are joined
NS_TYPES: dict[str, int] = {
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "net": CLONE_NEWNET,
    "pid": CLONE_NEWPID,
    "cgroup": CLONE_NEWCGROUP,
    "mnt": CLONE_NEWNS,
}

# --- mount(2) flags (linux/mount.h) ------------------------------------------
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

# open_tree(2) / move_mount(2)
OPEN_TREE_CLONE = 1
AT_RECURSIVE = 0x8000
AT_FDCWD = -100
MOVE_MOUNT_F_EMPTY_PATH = 0x4

# --- prctl(2) options ----------------------------------------------------------
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

# --- seccomp --------------------------------------------------------------------
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_filter(program: list[tuple[int, int, int, int]]) -> None:
    """Install a classic-BPF seccomp filter (code, jt, jf, k) on the calling thread, for good."""
    arr = (_SockFilter * len(program))(*[_SockFilter(*ins) for ins in program])
    prog = _SockFprog(len(program), ctypes.cast(arr, ctypes.POINTER(_SockFilter)))
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0), "prctl PR_SET_SECCOMP",
           f"{len(program)} instructions")


# --- capabilities --------------------------------------------------------------
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# --- tty ioctls -------------------------------------------------------------------
TIOCSCTTY = 0x540E
TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441

_SYSCALLS = {
    # name: (x86_64, aarch64)
    "pivot_root": (155, 41),
    "pidfd_open": (434, 434),
    "pidfd_getfd": (438, 438),
    "capget": (125, 90),
    "capset": (126, 91),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
}
_ARCH_INDEX = 1 if platform.machine() in ("aarch64", "arm64") else 0


def _nr(name: str) -> int:
    return _SYSCALLS[name][_ARCH_INDEX]


def _fs(p: str | bytes | os.PathLike | None) -> bytes | None:
    if p is None:
        return None
    return os.fsencode(p)


def _check(ret: int, call: str, obj: object = "") -> int:
    if ret == -1:
        err = ctypes.get_errno()
        what = f"{call} {obj}".strip() if not isinstance(obj, bytes) else f"{call} {obj.decode(errors='replace')}"
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long


def unshare(flags: int) -> None:
    """Move the caller into new namespaces (``CLONE_NEW*``)."""
    _check(_libc.unshare(flags), "unshare", hex(flags))


def setns(fd: int, nstype: int = 0, what: str = "") -> None:
    """Join the namespace open at ``fd`` (``what`` names it in errors)."""
    _check(_libc.setns(fd, nstype), "setns", what or f"fd {fd}")


def mount(source: str | bytes | None, target: str | bytes | os.PathLike, fstype: str | bytes | None = None,
          flags: int = 0, data: str | bytes | None = None) -> None:
    """mount(2); ``target`` is named in the error."""
    t = _fs(target)
    _check(_libc.mount(_fs(source), t, _fs(fstype), flags, _fs(data)), "mount", t)


def umount2(target: str | bytes | os.PathLike, flags: int = 0) -> None:
    t = _fs(target)
    _check(_libc.umount2(t, flags), "umount", t)


def pivot_root(new_root: str | bytes, put_old: str | bytes) -> None:
    n = _fs(new_root)
    _check(_libc.syscall(_nr("pivot_root"), n, _fs(put_old)), "pivot_root", n)


def open_tree(path: str, flags: int = OPEN_TREE_CLONE | AT_RECURSIVE | os.O_CLOEXEC, dfd: int = AT_FDCWD) -> int:
    """A detached copy of the mount tree at ``path`` (an fd), movable into another namespace."""
    p = _fs(path)
    return _check(_libc.syscall(_nr("open_tree"), ctypes.c_int(dfd), p, ctypes.c_uint(flags)), "open_tree", p)


def move_mount_fd(tree_fd: int, target: str) -> None:
    """Attach the detached tree ``tree_fd`` (from open_tree) at ``target``."""
    t = _fs(target)
    _check(_libc.syscall(_nr("move_mount"), ctypes.c_int(tree_fd), b"", ctypes.c_int(AT_FDCWD), t,
                         ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)), "move_mount", t)


def sethostname(name: str) -> None:
    b = name.encode()
    _check(_libc.sethostname(b, len(b)), "sethostname", name)


def setdomainname(name: str) -> None:
    b = name.encode()
    _check(_libc.setdomainname(b, len(b)), "setdomainname", name)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), "prctl", option)


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_child_subreaper(on: bool = True) -> None:
    prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0)


def set_pdeathsig(sig: int) -> None:
    prctl(PR_SET_PDEATHSIG, sig)


def set_name(name: str) -> None:
    """The process name shown by ps/top (``comm``, 15 bytes)."""
    buf = ctypes.create_string_buffer(name.encode()[:15])
    _check(_libc.prctl(PR_SET_NAME, ctypes.cast(buf, ctypes.c_void_p).value or 0, 0, 0, 0), "prctl PR_SET_NAME", name)


def capbset_drop(cap: int) -> None:
    prctl(PR_CAPBSET_DROP, cap)


def capbset_read(cap: int) -> bool:
    return prctl(PR_CAPBSET_READ, cap) == 1


def clear_ambient_caps() -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def capget(pid: int = 0) -> tuple[int, int, int]:
    """(effective, permitted, inheritable) as 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_libc.syscall(_nr("capget"), ctypes.byref(hdr), ctypes.byref(data)), "capget", pid)
    return tuple((getattr(data[1], f) << 32) | getattr(data[0], f)  # type: ignore[return-value]
                 for f in ("effective", "permitted", "inheritable"))


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set the calling thread's capability sets (64-bit masks)."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.syscall(_nr("capset"), ctypes.byref(hdr), ctypes.byref(data)), "capset", hex(effective))


def setgroups(gids: list[int]) -> None:
    try:
        os.setgroups(gids)
    except OSError as e:
        raise OSError(e.errno, f"setgroups {gids}: {os.strerror(e.errno or 0)}") from None


def pidfd_open(pid: int, flags: int = 0) -> int:
    return _check(_libc.syscall(_nr("pidfd_open"), pid, flags), "pidfd_open", pid)


def pidfd_getfd(pid: int, target_fd: int) -> int:
    """A duplicate of file descriptor ``target_fd`` of process ``pid`` (root; Linux 5.6+), close-on-exec."""
    pidfd = os.pidfd_open(pid)
    try:
        fd = _check(_libc.syscall(_nr("pidfd_getfd"), pidfd, target_fd, 0), "pidfd_getfd")
        os.set_inheritable(fd, False)
        return fd
    finally:
        os.close(pidfd)


def mknod(path: str, mode: int, major: int, minor: int) -> None:
    try:
        os.mknod(path, mode, os.makedev(major, minor))
    except OSError as e:
        raise OSError(e.errno, f"mknod {path}: {os.strerror(e.errno or 0)}") from None


def last_cap() -> int:
    """Highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:  # pragma: no cover - very old kernels
        return 40


__all__ = [  # the flags and constants, then the calls
    "AT_FDCWD", "AT_RECURSIVE", "CLONE_FILES", "CLONE_FS", "CLONE_NEWCGROUP", "CLONE_NEWIPC", "CLONE_NEWNET",
    "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWUSER", "CLONE_NEWUTS", "MNT_DETACH", "MNT_EXPIRE", "MNT_FORCE",
    "MOVE_MOUNT_F_EMPTY_PATH", "MS_BIND", "MS_DIRSYNC", "MS_MANDLOCK", "MS_MOVE", "MS_NOATIME", "MS_NODEV",
    "MS_NODIRATIME", "MS_NOEXEC", "MS_NOSUID", "MS_NOSYMFOLLOW", "MS_PRIVATE", "MS_RDONLY", "MS_REC", "MS_RELATIME",
    "MS_REMOUNT", "MS_SHARED", "MS_SILENT", "MS_SLAVE", "MS_STRICTATIME", "MS_SYNCHRONOUS", "MS_UNBINDABLE",
    "NS_TYPES", "OPEN_TREE_CLONE", "PR_CAPBSET_DROP", "PR_CAPBSET_READ", "PR_CAP_AMBIENT",
    "PR_CAP_AMBIENT_CLEAR_ALL", "PR_GET_NO_NEW_PRIVS", "PR_SET_CHILD_SUBREAPER", "PR_SET_KEEPCAPS", "PR_SET_NAME",
    "PR_SET_NO_NEW_PRIVS", "PR_SET_PDEATHSIG", "PR_SET_SECCOMP", "SECCOMP_MODE_FILTER", "TIOCGPTPEER", "TIOCSCTTY",
    "TIOCSPTLCK", "UMOUNT_NOFOLLOW",
    "capbset_drop", "capbset_read", "capget", "capset", "clear_ambient_caps", "last_cap", "mknod", "mount",
    "move_mount_fd", "open_tree", "pidfd_getfd", "pidfd_open", "pivot_root", "prctl", "seccomp_filter",
    "set_child_subreaper", "set_name", "set_no_new_privs", "set_pdeathsig", "setdomainname", "setgroups",
    "sethostname", "setns", "umount2", "unshare",
]
