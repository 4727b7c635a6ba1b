"""/sys/fs/cgroup inside the container, as Docker gives it.

Why: programs size themselves from their cgroup (the JVM, Go's automaxprocs,
nproc-style tools read cpu.cfs_quota_us or memory.limit_in_bytes). Mounted
after the container has its own cgroup namespace, each hierarchy's root *is*
the container's cgroup, so it sees its own limits and nothing of the host's
tree. The layout mirrors the host's (v1 controllers one by one, or a single
cgroup2), read-only unless privileged.
"""
from __future__ import annotations

import os

from engine import sys as ksys

BASE = "/sys/fs/cgroup"
_FLAGS = ksys.MS_NOSUID | ksys.MS_NODEV | ksys.MS_NOEXEC


def host_layout(mountinfo: str = "/proc/self/mountinfo") -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """([(name under BASE or "", fstype, data)], [(symlink name, target)]) of the host's cgroup mounts."""
    mounts: list[tuple[str, str, str]] = []
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return [], []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        mp = fields[4]
        if mp == BASE:
            name = ""
        elif os.path.dirname(mp) == BASE:
            name = os.path.basename(mp)
        else:
            continue
        # v1: the controller list names the hierarchy; v2: one hierarchy, options are the host's business
        data = "" if rfields[0] == "cgroup2" else ",".join(o for o in rfields[2].split(",") if o not in ("rw", "ro"))
        mounts.append((name, rfields[0], data))
    links: list[tuple[str, str]] = []
    if mounts and mounts[0][0]:
        try:
            for n in os.listdir(BASE):
                p = os.path.join(BASE, n)
                if os.path.islink(p):
                    links.append((n, os.readlink(p)))
        except OSError:
            pass
    return mounts, links


HOST_LAYOUT = host_layout()


def own_cgroups(text: str) -> dict[str, str]:
    """/proc/self/cgroup -> {controller list ("cpu,cpuacct", "name=systemd", "" for v2): path}."""
    out = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out[parts[1]] = parts[2]
    return out


def _mount_hierarchy(path: str, fstype: str, data: str, flags: int, sub: str | None) -> None:
    ksys.mount(fstype, path, fstype, flags, data or None)
    if sub and sub != "/":
        # host cgroup namespace: the hierarchy's root is the host's; show only our own cgroup,
        # stacked over the mountpoint (what Docker's v1 bind mounts achieve)
        ksys.mount(path + sub, path, None, ksys.MS_BIND | ksys.MS_REC)
        if flags & ksys.MS_RDONLY:
            ksys.mount(None, path, None, ksys.MS_BIND | ksys.MS_REMOUNT | flags)


def mount_cgroupfs(readonly: bool, layout=HOST_LAYOUT, host_namespace: bool = False) -> None:
    """Mount the container's view of its cgroups at /sys/fs/cgroup (inside the container)."""
    mounts, links = layout
    if not mounts or not os.path.isdir(BASE):
        return
    ro = ksys.MS_RDONLY if readonly else 0
    own: dict[str, str] = {}
    if host_namespace:
        with open("/proc/self/cgroup") as f:
            own = own_cgroups(f.read())
    if len(mounts) == 1 and mounts[0][0] == "":
        _, fstype, data = mounts[0]
        _mount_hierarchy(BASE, fstype, data, _FLAGS | ro, own.get("") if host_namespace else None)
        return
    ksys.mount("tmpfs", BASE, "tmpfs", _FLAGS, "mode=755")
    for name, fstype, data in mounts:
        if not name:
            continue
        path = os.path.join(BASE, name)
        os.mkdir(path, 0o555)
        key = "" if fstype == "cgroup2" else data
        try:
            _mount_hierarchy(path, fstype, data, _FLAGS | ro, own.get(key) if host_namespace else None)
        except OSError:
            os.rmdir(path)  # a hierarchy we may not mount here: leave it out rather than fail the container
    for name, target in links:
        if not os.path.lexists(os.path.join(BASE, name)):
            os.symlink(target, os.path.join(BASE, name))
    if readonly:
        ksys.mount(None, BASE, None, ksys.MS_BIND | ksys.MS_REMOUNT | ksys.MS_RDONLY | _FLAGS)
