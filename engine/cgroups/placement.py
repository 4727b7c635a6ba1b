"""Where the engine puts its containers' cgroups, and how any process finds them again.

Why: the top of the hierarchy belongs to whoever runs the machine. A configured
parent (``PYCOMPOSE_CGROUP_PARENT``, Docker's ``--cgroup-parent`` for the whole
engine) wins; otherwise, on cgroup v2, a process running inside a subtree that
systemd delegated to it (``Delegate=yes``: the directory carries the
``trusted.delegate`` or ``user.delegate`` xattr) keeps its groups inside that
subtree, as systemd's delegation rules ask; otherwise ``pycompose/`` at the top,
like Docker's cgroupfs driver.

The supervisor decides where a group goes; the CLI (stats, top, exec) may run in
another cgroup and would decide otherwise, so a group placed anywhere but the
default is recorded in a small index under /run (gone at reboot, like the groups).
"""
from __future__ import annotations

import os
from pathlib import Path

PARENT = "pycompose"
DELEGATE_XATTRS = ("trusted.delegate", "user.delegate")


def own_cgroup(proc_cgroup: str = "/proc/self/cgroup") -> str | None:
    """This process's cgroup v2 path (``/system.slice/x.service``), None without a v2 line."""
    try:
        with open(proc_cgroup) as f:
            for line in f:
                hid, ctrls, path = line.rstrip("\n").split(":", 2)
                if hid == "0" and ctrls == "":
                    return path
    except (OSError, ValueError):
        pass
    return None


def is_delegated(path: Path) -> bool:
    """True when systemd marked ``path`` as a delegated subtree."""
    for name in DELEGATE_XATTRS:
        try:
            if os.getxattr(path, name).strip() == b"1":
                return True
        except OSError:
            continue
    return False


def delegated_base(mount: Path, own: str | None) -> str | None:
    """The nearest ancestor-or-self of ``own`` that is delegated (relative path), or None."""
    if not own or own == "/":
        return None
    parts = own.strip("/").split("/")
    for n in range(len(parts), 0, -1):
        rel = "/".join(parts[:n])
        if is_delegated(mount / rel):
            return rel
    return None


def parent_for(mount: Path, version: int) -> tuple[str, str | None]:
    """(parent path of the containers' groups, the delegated base it lives in or None)."""
    configured = os.environ.get("PYCOMPOSE_CGROUP_PARENT", "").strip("/")
    if configured:
        return configured, None
    if version == 2:
        base = delegated_base(mount, own_cgroup())
        if base:
            return f"{base}/{PARENT}", base
    return PARENT, None


def _index_dir() -> Path:
    return Path(os.environ.get("PYCOMPOSE_CGROUP_INDEX") or "/run/pycompose/cgroups")


def recorded(cid: str) -> str | None:
    """The group path recorded for container ``cid`` (placed outside the default), or None."""
    try:
        return (_index_dir() / cid).read_text().strip() or None
    except OSError:
        return None


def record(cid: str, name: str) -> None:
    """Remember where ``cid``'s group is, for processes that would place it elsewhere."""
    if name == f"{PARENT}/{cid}":
        forget(cid)
        return
    d = _index_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{cid}.tmp"
        tmp.write_text(name)
        os.replace(tmp, d / cid)
    except OSError:
        pass  # read-only /run: only processes that place groups alike will find it


def forget(cid: str) -> None:
    try:
        os.unlink(_index_dir() / cid)
    except OSError:
        pass
