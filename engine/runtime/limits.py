"""Ulimits and sysctls: Docker's validation rules, checked before anything is created.

Why up front: a limit the kernel will refuse (nofile above the host's hard
limit without CAP_SYS_RESOURCE; a sysctl that is not namespaced and would
change the host) must fail with a message naming the setting, not as an
obscure EPERM from a half-started container.
"""
from __future__ import annotations

import os
import resource

from engine.errors import InvalidArgument
from engine.runtime.spec import HOST, Namespaces, Rlimit

CAP_SYS_RESOURCE = 24
# Docker's ulimit names -> Linux RLIMIT_* numbers (Python's resource module lacks some)
RLIMITS: dict[str, int] = {
    "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7,
    "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14,
    "rttime": 15,
}
_RES = RLIMITS

# Docker's namespaced sysctls (moby/opts validateSysctl)
IPC_SYSCTLS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                         "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"})
IPC_PREFIXES = ("fs.mqueue.",)
NET_PREFIXES = ("net.",)


def _limit(v, name: str) -> int:
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid ulimit {name}: {v!r} is not a number") from None
    return resource.RLIM_INFINITY if n < 0 else n


def parse_ulimits(items: list[dict] | None) -> list[Rlimit]:
    """Docker's HostConfig.Ulimits ([{Name, Soft, Hard}]) -> Rlimits, validated."""
    out: list[Rlimit] = []
    for u in items or []:
        name = str(u.get("Name", "")).lower()
        if name not in _RES:
            raise InvalidArgument(f"invalid ulimit type: {name if name else repr(u)}")
        soft = _limit(u.get("Soft", u.get("Hard", 0)), name)
        hard = _limit(u.get("Hard", u.get("Soft", 0)), name)
        if _gt(soft, hard):
            raise InvalidArgument(f"invalid ulimit {name}: soft limit {soft} is above the hard limit {hard}")
        out = [r for r in out if r.name != name] + [Rlimit(name, soft, hard)]
    return out


def _gt(a: int, b: int) -> bool:
    inf = resource.RLIM_INFINITY
    if a == inf:
        return b != inf
    return b != inf and a > b


def _has_cap(cap: int) -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> cap & 1)
    except OSError:  # pragma: no cover
        pass
    return False


def check_host_rlimits(rlimits: list[Rlimit]) -> None:
    """Refuse a hard limit above the host's when we cannot raise it (no CAP_SYS_RESOURCE)."""
    if not rlimits or _has_cap(CAP_SYS_RESOURCE):
        return
    for rl in rlimits:
        host_hard = resource.getrlimit(_RES[rl.name])[1]
        for what, value in (("hard", rl.hard), ("soft", rl.soft)):
            if _gt(value, host_hard):
                v = "unlimited" if value == resource.RLIM_INFINITY else value
                raise InvalidArgument(
                    f"ulimit {rl.name}: {what} limit {v} is above the host's hard limit {host_hard}; "
                    "raising it needs CAP_SYS_RESOURCE, which this host does not grant")
        if rl.name == "nofile" and rl.hard != resource.RLIM_INFINITY:
            try:
                with open("/proc/sys/fs/nr_open") as f:
                    nr_open = int(f.read())
            except OSError:  # pragma: no cover
                continue
            if rl.hard > nr_open:
                raise InvalidArgument(f"ulimit nofile: hard limit {rl.hard} is above the kernel's "
                                      f"fs.nr_open {nr_open}")


def validate_sysctls(sysctls: dict | None, ns: Namespaces) -> dict[str, str]:
    """Only sysctls that live in the container's own namespaces, like Docker."""
    out: dict[str, str] = {}
    for key, value in (sysctls or {}).items():
        k = str(key).strip().replace("/", ".")
        if k in IPC_SYSCTLS or k.startswith(IPC_PREFIXES):
            if ns.ipc == HOST:
                raise InvalidArgument(f"sysctl {k!r} is not allowed when joining the host IPC namespace")
        elif k.startswith(NET_PREFIXES):
            if ns.net == HOST:
                raise InvalidArgument(f"sysctl {k!r} is not allowed in host network namespace")
        else:
            raise InvalidArgument(f"sysctl {k!r} is not whitelisted: only namespaced sysctls "
                                  "(net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) can be set "
                                  "for a container")
        if ".." in k or k.startswith(".") or k.endswith("."):
            raise InvalidArgument(f"invalid sysctl name {k!r}")
        out[k] = str(value)
    return out


def apply_sysctls(sysctls: dict[str, str]) -> None:
    """Write each sysctl into the container's /proc/sys (before it is made read-only)."""
    for k, v in sysctls.items():
        path = "/proc/sys/" + k.replace(".", "/")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise InvalidArgument(f"sysctl {k!r} does not exist on this kernel") from None
        try:
            os.write(fd, v.encode())
        except OSError as e:
            raise InvalidArgument(f"setting sysctl {k}={v} failed: {os.strerror(e.errno or 0)}") from None
        finally:
            os.close(fd)
