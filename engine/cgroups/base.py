"""The one cgroup interface the engine uses; v1.py and v2.py implement it.

Callers (the supervisor, exec, stats) never look at cgroup files themselves:
they create a group, apply ``Limits``, add the container's pid, read stats,
freeze/thaw it, ask whether the kernel OOM-killed in it, and destroy it.
"""
from __future__ import annotations

import errno
import os
import signal
import time
from abc import ABC, abstractmethod
from pathlib import Path

from engine.cgroups.limits import Limits
from engine.errors import InvalidArgument, SystemError_


def write(path: Path, value: str | int) -> None:
    """Write one value to a cgroup file, turning kernel refusals into clear errors."""
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as e:
        if e.errno in (errno.EINVAL, errno.ERANGE, errno.EBUSY):
            raise InvalidArgument(f"the kernel refused {value!r} for {path.name}: {e.strerror}") from None
        raise SystemError_(f"cannot write {value!r} to {path}: {e.strerror}") from None


def read(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


def read_int(path: Path, default: int = 0) -> int:
    v = read(path)
    try:
        return int(v)
    except ValueError:
        return default


def keyed(path: Path) -> dict[str, int]:
    """Files of ``key value`` lines (memory.stat, cpu.stat, memory.events)."""
    out: dict[str, int] = {}
    for line in read(path).splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


class Cgroup(ABC):
    """A container's cgroup. ``name`` is relative, e.g. ``pycompose/<container id>``."""

    version: int
    container_id: str | None = None    # set by container_cgroup: its placement gets recorded
    delegated_base: str | None = None  # a delegated subtree holding the group (levels above are not ours)

    def __init__(self, name: str, mount: str | os.PathLike):
        self.name = name.strip("/")
        self.mount = Path(mount)

    def _placed(self) -> None:
        if self.container_id:
            from engine.cgroups import placement

            placement.record(self.container_id, self.name)

    def _removed(self) -> None:
        if self.container_id:
            from engine.cgroups import placement

            placement.forget(self.container_id)

    @property
    @abstractmethod
    def paths(self) -> dict[str, Path]:
        """Controller -> directory (v2: one entry, ``""``). Exec joins each of these."""

    @abstractmethod
    def create(self) -> None: ...

    @abstractmethod
    def apply(self, limits: Limits) -> list[str]:
        """Write the limits; returns warnings for limits this host cannot enforce."""

    def add_pid(self, pid: int) -> None:
        for d in self.paths.values():
            write(d / "cgroup.procs", pid)

    def pids(self) -> list[int]:
        d = next(iter(self.paths.values()))
        if "pids" in self.paths:
            d = self.paths["pids"]
        out = []
        for line in read(d / "cgroup.procs").splitlines():
            if line.strip().isdigit():
                out.append(int(line))
        return out

    def exists(self) -> bool:
        return any(d.is_dir() for d in self.paths.values())

    @abstractmethod
    def freeze(self) -> None: ...

    @abstractmethod
    def thaw(self) -> None: ...

    @abstractmethod
    def stats(self) -> dict: ...

    @abstractmethod
    def oom_killed(self) -> bool:
        """True when the kernel's OOM killer killed a process of this group."""

    def warm_join(self) -> "threading.Thread | None":
        """Start the grace-period wait of a coming join now, in a thread (the runtime calls this while
        its helper forks pid 1). Why: the first ``cgroup.procs`` write after a quiet spell waits for an
        RCU grace period (the kernel switches its fork/exit lock to the slow path; ~10-15 ms on a busy
        machine), and writes that come while that switch is pending or just done share it. Moving
        ourselves into the cgroup we are already in (under this group's mount) is a no-op that starts
        the switch; pid 1's join then finds it (partly) done."""
        procs = self.own_procs()
        if procs is None:
            return None

        def write_own_pid() -> None:
            try:
                with open(procs, "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass

        import threading  # here: most importers of this module never start one

        t = threading.Thread(target=write_own_pid, name="cgroup-warm", daemon=True)
        t.start()
        return t

    def own_procs(self) -> str | None:
        """``cgroup.procs`` of our own group under this group's mount, where moving ourselves is a
        no-op that takes the kernel's migration lock (warm_join, engine.cgroups.warm); v1: freezer's
        (no charges to move)."""
        paths = self.paths
        if not paths:
            return None
        return self._own_procs("freezer" if "freezer" in paths else next(iter(paths)))

    def _own_procs(self, kind: str) -> str | None:
        """``cgroup.procs`` of our own cgroup in the hierarchy of controller ``kind`` (v2: ``""``)."""
        try:
            with open("/proc/self/cgroup") as f:
                for line in f:
                    _, ctrls, path = line.rstrip("\n").split(":", 2)
                    if kind in ctrls.split(","):
                        procs = os.path.join(str(self.mount), kind, path.lstrip("/"), "cgroup.procs")
                        return procs if os.path.exists(procs) else None
        except OSError:
            pass
        return None

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process in the group (by pid, only ours: they are in our cgroup)."""
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def destroy(self, timeout: float = 2.0) -> None:
        """Remove the group's directories (deepest first), waiting briefly for exiting tasks."""
        deadline = time.monotonic() + timeout
        self._removed()
        for d in self.paths.values():
            while d.is_dir():
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise SystemError_(f"cannot remove cgroup {d}: {e.strerror}") from None
                    time.sleep(0.01)
