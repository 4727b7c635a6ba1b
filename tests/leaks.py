"""Snapshot of the kernel objects pycompose may create, for the end-of-suite leak check.

The names follow docs/ARCHITECTURE.md ("Naming of kernel objects"). A snapshot is
taken when the test session starts and again when it ends; anything new is a leak.
"""
from __future__ import annotations

import glob
import os
import subprocess


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def links() -> set[str]:
    out = set()
    for line in _run("ip", "-o", "link", "show").splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            name = parts[1].strip().split("@")[0]
            if name.startswith(("pc-", "pcv")):
                out.add(f"link {name}")
    return out


def netns() -> set[str]:
    return {f"netns {l.split()[0]}" for l in _run("ip", "netns", "list").splitlines()
            if l.strip() and l.split()[0].startswith("pyc")}


def mounts() -> set[str]:
    out = set()
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if "pycompose" in mp or "pyc-test" in mp:
                    out.add(f"mount {mp}")
    except OSError:
        pass
    return out


def cgroup_parents() -> list[str]:
    """Every ``pycompose`` parent group: under each v1 hierarchy, at the v2 top, and on a v2 host
    anywhere deeper (a delegated subtree such as system.slice/x.service/pycompose)."""
    found = glob.glob("/sys/fs/cgroup/*/pycompose") + glob.glob("/sys/fs/cgroup/pycompose")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        for top, dirs, _ in os.walk("/sys/fs/cgroup"):
            if top.count("/") > 7 or os.path.basename(top) == "pycompose":
                dirs[:] = []
                continue
            found += [os.path.join(top, d) for d in dirs if d == "pycompose" and top != "/sys/fs/cgroup"]
    return found


def cgroups() -> set[str]:
    out = set()
    for parent in cgroup_parents():
        for d in glob.glob(os.path.join(parent, "*")):
            if os.path.isdir(d):
                out.add(f"cgroup {d}")
    return out


def nft_tables() -> set[str]:
    out = set()
    for line in _run("nft", "list", "tables").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].startswith("pycompose"):
            out.add(f"nft table {parts[1]} {parts[2]}")
    return out


def processes() -> set[str]:
    out = set()
    me = os.getpid()
    for p in glob.glob("/proc/[0-9]*"):
        try:
            pid = int(os.path.basename(p))
            if pid == me:
                continue
            with open(f"{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue
        if "pycompose-supervisor" in cmd or "pyc-test" in cmd:
            out.add(f"process {pid} {cmd[:120]}")
    return out


def snapshot() -> set[str]:
    return links() | netns() | mounts() | cgroups() | nft_tables() | processes()
