"""cgroup v2: one unified hierarchy (most users' hosts: systemd on a recent kernel)."""
from __future__ import annotations

import errno
import time
from pathlib import Path

from engine.cgroups.base import Cgroup, keyed, read, read_int, write
from engine.cgroups.limits import Limits, blkio_to_io_weight, shares_to_weight, v2_cpu_max, v2_swap_max
from engine.errors import SystemError_

WANTED = ("cpu", "cpuset", "io", "memory", "pids")
LEAF = "init"  # where a delegated group's own processes move so it may hand controllers down

# Docker's words when the host cannot enforce a limit (daemon/daemon_unix.go)
NO_MEMORY = "Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded."
NO_SWAP = "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap."
NO_RESERVATION = ("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. "
                  "Limitation discarded.")
NO_CFS = "Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded."
NO_SHARES = "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded."
NO_CPUSET = "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded."
NO_PIDS = "Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded."
NO_BLKIO = "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."


def _is_cgroup2_mount(path: Path) -> bool:
    """True when ``path`` is a real cgroup2 mount, False for a plain directory (test tree)."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if left.split()[4] == str(path) and right.split()[0] == "cgroup2":
                    return True
    except OSError:
        pass
    return False


class CgroupV2(Cgroup):
    version = 2

    def __init__(self, name: str, mount: str = "/sys/fs/cgroup"):
        super().__init__(name, mount)
        self.dir = self.mount / self.name
        self.real = _is_cgroup2_mount(self.mount)

    @property
    def paths(self) -> dict[str, Path]:
        return {"": self.dir}

    def create(self) -> None:
        """Make the group, each ancestor handing the wanted controllers down on the way.

        A controller is usable in a group only when its parent lists it in
        ``cgroup.subtree_control``. Levels above a delegated base belong to the
        service manager: they are only read, never written."""
        base = Path(self.delegated_base) if self.delegated_base else None
        cur, rel = self.mount, Path()
        for part in Path(self.name).parts:
            if base is None or rel == base or base in rel.parents:
                self._hand_down(cur, top=(cur == self.mount))
            cur, rel = cur / part, rel / part
            cur.mkdir(exist_ok=True)
        self._placed()

    def _hand_down(self, d: Path, top: bool) -> None:
        """Enable the wanted controllers ``d`` has in its ``cgroup.subtree_control``."""
        available = set(read(d / "cgroup.controllers").split())
        if not available and not self.real:  # the fake tree's new levels have no controller list
            available = set(WANTED)
        enabled = set(read(d / "cgroup.subtree_control").split())
        missing = [c for c in WANTED if c in available and c not in enabled]
        if not missing:
            return
        value = " ".join(f"+{c}" for c in missing)
        try:
            with open(d / "cgroup.subtree_control", "w") as f:
                f.write(value)
        except OSError as e:
            # "no internal processes": a non-root group with members of its own cannot
            # hand controllers down (a delegated service's cgroup holds the service).
            if e.errno != errno.EBUSY or top:
                raise SystemError_(f"cannot enable {value} in {d}: {e.strerror}") from None
            for _ in range(5):  # a process of ours may come back in meanwhile (a JoinWarmer's write)
                self._evacuate(d)
                try:
                    with open(d / "cgroup.subtree_control", "w") as f:
                        f.write(value)
                    return
                except OSError as again:
                    if again.errno != errno.EBUSY:
                        break
            self._evacuate(d)
            write(d / "cgroup.subtree_control", value)  # the last try: a refusal worded as every other

    @staticmethod
    def _evacuate(d: Path) -> None:
        """Move every process of ``d`` into the leaf ``d/init`` (all of them belong to us)."""
        leaf = d / LEAF
        leaf.mkdir(exist_ok=True)
        for _ in range(100):  # members may fork while we move them
            members = [p for p in read(d / "cgroup.procs").split() if p.isdigit()]
            if not members:
                return
            for pid in members:
                try:
                    with open(leaf / "cgroup.procs", "w") as f:
                        f.write(pid)
                except ProcessLookupError:
                    pass
        raise SystemError_(f"cannot move the processes of {d} into {leaf}")

    def _has(self, name: str) -> bool:
        """The interface file exists (its controller is enabled here); a fake tree has them all."""
        return (self.dir / name).exists() or not self.real

    def apply(self, lim: Limits) -> list[str]:
        warnings = list(lim.warnings)
        self._apply_memory(lim, warnings)
        self._apply_cpu(lim, warnings)
        if lim.pids_limit is not None:
            if self._has("pids.max"):
                write(self.dir / "pids.max", lim.pids_limit)
            else:
                warnings.append(NO_PIDS)
        if lim.blkio_weight is not None:
            self._apply_io_weight(lim.blkio_weight, warnings)
        self._privileged = lim.allow_all_devices
        self.allow_devices([])
        return warnings

    def allow_devices(self, rules: list[str]) -> None:
        """Device access is an eBPF program on the group (devices.py): the defaults plus ``rules``."""
        self._device_rules = list(getattr(self, "_device_rules", [])) + list(rules)
        if getattr(self, "_privileged", False) or not self.real:
            return
        from engine.cgroups import devices

        devices.attach(str(self.dir), list(devices.DEFAULT_RULES) + self._device_rules)

    def _apply_memory(self, lim: Limits, warnings: list[str]) -> None:
        d = self.dir
        if lim.memory is None and lim.memory_reservation is None:
            return
        if not self._has("memory.max"):
            warnings.append(NO_MEMORY if lim.memory is not None else NO_RESERVATION)
            return
        if lim.memory is not None:
            write(d / "memory.max", lim.memory)
        swap = v2_swap_max(lim.memory, lim.memory_swap)
        if swap is not None:
            self._write_or_warn("memory.swap.max", swap, NO_SWAP, warnings)
        if lim.memory_reservation is not None:
            write(d / "memory.low", lim.memory_reservation)

    def _write_or_warn(self, name: str, value, missing: str, warnings: list[str]) -> None:
        """Write ``value`` to control file ``name``, or warn ``missing`` (Docker's words) when the
        kernel has no such file (the controller or the feature is off)."""
        if self._has(name):
            write(self.dir / name, value)
        else:
            warnings.append(missing)

    def _apply_cpu(self, lim: Limits, warnings: list[str]) -> None:
        d = self.dir
        cpu_max = v2_cpu_max(lim.cpu_quota, lim.cpu_period)
        if cpu_max is not None:
            self._write_or_warn("cpu.max", cpu_max, NO_CFS, warnings)
        if lim.cpu_shares is not None:
            self._write_or_warn("cpu.weight", shares_to_weight(lim.cpu_shares), NO_SHARES, warnings)
        if lim.cpuset_cpus or lim.cpuset_mems:
            if not self._has("cpuset.cpus"):
                warnings.append(NO_CPUSET)
                return
            if lim.cpuset_cpus:
                write(d / "cpuset.cpus", lim.cpuset_cpus)
            if lim.cpuset_mems:
                write(d / "cpuset.mems", lim.cpuset_mems)

    def _apply_io_weight(self, weight: int, warnings: list[str]) -> None:
        # BFQ takes blkio's own 10..1000 scale; io.weight (blk-iocost) is 1..10000 (runc's choice order).
        if (self.dir / "io.bfq.weight").exists():
            write(self.dir / "io.bfq.weight", weight)
        elif self._has("io.weight"):
            write(self.dir / "io.weight", f"default {blkio_to_io_weight(weight)}")
        else:
            warnings.append(NO_BLKIO)

    def freeze(self) -> None:
        self._freeze("1")

    def thaw(self) -> None:
        self._freeze("0")

    def _freeze(self, value: str) -> None:
        """Write cgroup.freeze and wait until cgroup.events says every task got there."""
        write(self.dir / "cgroup.freeze", value)
        events = self.dir / "cgroup.events"
        deadline = time.monotonic() + 30  # a task in uninterruptible sleep holds the group back
        while events.exists() and keyed(events).get("frozen") != int(value):
            if time.monotonic() > deadline:
                raise SystemError_(f"{self.dir} did not reach frozen={value} within 30 s")
            time.sleep(0.001)

    def frozen(self) -> bool:
        return keyed(self.dir / "cgroup.events").get("frozen") == 1

    def stats(self) -> dict:
        d = self.dir
        mx = read(d / "memory.max")
        cpu = keyed(d / "cpu.stat")
        pmax = read(d / "pids.max")
        rd = wr = 0
        for line in read(d / "io.stat").splitlines():
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                if k == "rbytes":
                    rd += int(v)
                elif k == "wbytes":
                    wr += int(v)
        return {
            "memory": {"usage": read_int(d / "memory.current"), "max_usage": read_int(d / "memory.peak"),
                       "limit": 0 if mx in ("", "max") else int(mx), "stats": keyed(d / "memory.stat")},
            "cpu": {"usage_ns": cpu.get("usage_usec", 0) * 1000, "percpu_ns": [],
                    "user_ns": cpu.get("user_usec", 0) * 1000, "system_ns": cpu.get("system_usec", 0) * 1000,
                    "throttling": {"periods": cpu.get("nr_periods", 0),
                                   "throttled_periods": cpu.get("nr_throttled", 0),
                                   "throttled_time": cpu.get("throttled_usec", 0) * 1000}},
            "pids": {"current": read_int(d / "pids.current"), "limit": 0 if pmax in ("", "max") else int(pmax)},
            "blkio": {"read_bytes": rd, "write_bytes": wr},
        }

    def oom_killed(self) -> bool:
        return keyed(self.dir / "memory.events").get("oom_kill", 0) > 0

    def kill_all(self, sig: int = 9) -> None:
        # cgroup.kill (5.14+) kills every process atomically, even ones forking right now.
        if sig == 9 and (self.dir / "cgroup.kill").exists() and self.real:
            write(self.dir / "cgroup.kill", 1)
            return
        super().kill_all(sig)

    def destroy(self, timeout: float = 2.0) -> None:
        if not self.real:  # a fake tree in tests: plain directories
            import shutil

            self._removed()
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        if self.dir.is_dir() and self.frozen():
            self.thaw()  # a frozen group's tasks cannot exit, so it could never be removed
        super().destroy(timeout)

    def populated(self) -> bool:
        return keyed(self.dir / "cgroup.events").get("populated", 0) == 1

