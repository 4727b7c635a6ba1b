"""cgroup v2: one unified hierarchy (most users' hosts: systemd on a recent kernel)."""
from __future__ import annotations

import time
from pathlib import Path

from engine.cgroups.base import Cgroup, keyed, read, read_int, write
from engine.cgroups.limits import Limits, blkio_to_io_weight, shares_to_weight, v2_cpu_max, v2_swap_max

WANTED = ("cpu", "cpuset", "io", "memory", "pids")


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
        # A controller is usable in a group only when every ancestor lists it in
        # cgroup.subtree_control, so enable them level by level on the way down.
        cur = self.mount
        available = set(read(cur / "cgroup.controllers").split())
        for part in Path(self.name).parts:
            want = [c for c in WANTED if c in available]
            enabled = set(read(cur / "cgroup.subtree_control").split())
            missing = [c for c in want if c not in enabled]
            if missing:
                write(cur / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
            cur = cur / part
            cur.mkdir(exist_ok=True)
            available = set(read(cur / "cgroup.controllers").split()) or set(want)

    def apply(self, lim: Limits) -> list[str]:
        d = self.dir
        warnings = list(lim.warnings)
        if lim.memory is not None:
            write(d / "memory.max", lim.memory)
        swap = v2_swap_max(lim.memory, lim.memory_swap)
        if swap is not None:
            if (d / "memory.swap.max").exists() or not self.real:
                write(d / "memory.swap.max", swap)
            else:
                warnings.append("Your kernel does not support swap limit capabilities. Limitation discarded.")
        if lim.memory_reservation is not None:
            write(d / "memory.low", lim.memory_reservation)
        cpu_max = v2_cpu_max(lim.cpu_quota, lim.cpu_period)
        if cpu_max is not None:
            write(d / "cpu.max", cpu_max)
        if lim.cpu_shares is not None:
            write(d / "cpu.weight", shares_to_weight(lim.cpu_shares))
        if lim.cpuset_cpus:
            write(d / "cpuset.cpus", lim.cpuset_cpus)
        if lim.cpuset_mems:
            write(d / "cpuset.mems", lim.cpuset_mems)
        if lim.pids_limit is not None:
            write(d / "pids.max", lim.pids_limit)
        if lim.blkio_weight is not None:
            write(d / "io.weight", f"default {blkio_to_io_weight(lim.blkio_weight)}")
        # Device access on v2 is an eBPF program; our containers only get the
        # standard nodes in their /dev and no CAP_MKNOD-usable majors beyond them.
        return warnings

    def freeze(self) -> None:
        self._freeze("1")

    def thaw(self) -> None:
        self._freeze("0")

    def _freeze(self, value: str) -> None:
        write(self.dir / "cgroup.freeze", value)
        events = self.dir / "cgroup.events"
        deadline = time.monotonic() + 5
        while events.exists() and keyed(events).get("frozen") != int(value) and time.monotonic() < deadline:
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

            shutil.rmtree(self.dir, ignore_errors=True)
            return
        super().destroy(timeout)
