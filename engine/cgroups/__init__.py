"""cgroups: one interface (``base.Cgroup``), two implementations (v1, v2).

``open_cgroup(name)`` picks the implementation from the host: a pure cgroup v2
host has ``cgroup.controllers`` at the top of the mount; a v1 or hybrid host
has one directory per controller. ``PYCOMPOSE_CGROUP_ROOT`` points it at
another tree (tests use a fake cgroupfs for v2, since this machine is v1).
Where a container's group goes (the top, a configured parent, a delegated
subtree) is ``placement``'s business.
"""
from __future__ import annotations

import os
from pathlib import Path

from engine.cgroups.limits import Limits, limits_from_hostconfig

__all__ = ["Cgroup", "Limits", "limits_from_hostconfig", "open_cgroup", "detect_version", "PARENT"]


def __getattr__(name: str):
    """``Cgroup`` and ``PARENT`` on first use: every container create imports this package for
    ``limits_from_hostconfig`` alone (its checks), and base (with threading) and placement cost ~1 ms."""
    if name == "Cgroup":
        from engine.cgroups.base import Cgroup

        return Cgroup
    if name == "PARENT":
        from engine.cgroups.placement import PARENT

        return PARENT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cgroup_root() -> Path:
    return Path(os.environ.get("PYCOMPOSE_CGROUP_ROOT") or "/sys/fs/cgroup")


def detect_version(root: Path | None = None) -> int:
    """2 for a unified hierarchy, 1 for v1/hybrid (controllers mounted one by one)."""
    root = root or cgroup_root()
    if (root / "cgroup.controllers").exists():
        return 2
    return 1


def open_cgroup(name: str, root: Path | None = None) -> Cgroup:
    """The cgroup ``name`` (e.g. ``pycompose/<id>``), not created until ``.create()``."""
    root = root or cgroup_root()
    if detect_version(root) == 2:
        from engine.cgroups.v2 import CgroupV2

        return CgroupV2(name, root)
    from engine.cgroups.v1 import CgroupV1

    return CgroupV1(name, root)


def container_cgroup(container_id: str) -> Cgroup:
    """The cgroup the engine uses for one container: where it was put, else where it goes."""
    from engine.cgroups import placement

    root = cgroup_root()
    name = placement.recorded(container_id)
    base = None
    if name is None:
        parent, base = placement.parent_for(root, detect_version(root))
        name = f"{parent}/{container_id}"
    cg = open_cgroup(name, root)
    cg.container_id, cg.delegated_base = container_id, base
    return cg
