"""Where a process's cgroup files are, on either hierarchy, read from /proc/<pid>/cgroup.

Tests look at the kernel's own files to see what the engine wrote; this finds them
without assuming the layout (v1 per-controller trees, the v2 top, a delegated subtree).
"""
from __future__ import annotations

from pathlib import Path

from engine.cgroups import detect_version

BASE = Path("/sys/fs/cgroup")


def cgroup_lines(pid: int) -> dict[str, str]:
    """controller ("" for v2) -> cgroup path of ``pid``."""
    out = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in ctrls.split(","):
            out[c] = path
    return out


def group_dir(pid: int, controller: str) -> Path:
    """The directory of ``pid``'s cgroup that holds ``controller``'s files."""
    lines = cgroup_lines(pid)
    if detect_version() == 2:
        return BASE / lines[""].lstrip("/")
    return BASE / controller / lines[controller].lstrip("/")


def cgroup_file(pid: int, controller: str, v1_name: str, v2_name: str) -> Path:
    return group_dir(pid, controller) / (v2_name if detect_version() == 2 else v1_name)
