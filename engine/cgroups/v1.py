"""cgroup v1: one hierarchy per controller (this project's CI machines, older hosts)."""
from __future__ import annotations

import errno
import time
from pathlib import Path

from engine.cgroups.base import Cgroup, keyed, read, read_int, write
from engine.cgroups.limits import Limits

CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "freezer", "devices")

# What an unprivileged container may touch in /dev (runc's default allow list).
DEFAULT_DEVICES = (
    "c *:* m", "b *:* m",
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
)


class CgroupV1(Cgroup):
    version = 1

    def __init__(self, name: str, mount: str = "/sys/fs/cgroup"):
        super().__init__(name, mount)
        self._paths = {c: self.mount / c / self.name for c in CONTROLLERS if (self.mount / c).is_dir()}

    @property
    def paths(self) -> dict[str, Path]:
        return self._paths

    def create(self) -> None:
        for ctrl, d in self._paths.items():
            if ctrl == "cpuset":
                self._make_cpuset(d)
            else:
                d.mkdir(parents=True, exist_ok=True)
        self._placed()

    def _make_cpuset(self, d: Path) -> None:
        # A v1 cpuset group starts with empty cpus/mems and refuses tasks until they are
        # set, so each new level copies its parent's before going deeper.
        top = self.mount / "cpuset"
        cur = top
        for part in d.relative_to(top).parts:
            nxt = cur / part
            if not nxt.is_dir():
                nxt.mkdir()
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not read(nxt / f):
                    write(nxt / f, read(cur / f))
            cur = nxt

    def apply(self, lim: Limits) -> list[str]:
        warnings = list(lim.warnings)
        p = self._paths
        if "memory" in p:
            m = p["memory"]
            if lim.memory is not None:
                # memsw must stay >= memory: lower/raise in the order the kernel accepts.
                cur_sw = read_int(m / "memory.memsw.limit_in_bytes", -1)
                sw = lim.memory_swap
                memsw_ok = (m / "memory.memsw.limit_in_bytes").exists()
                if memsw_ok and sw is not None and sw != -1 and 0 < sw < cur_sw and sw >= lim.memory:
                    write(m / "memory.limit_in_bytes", lim.memory)
                    write(m / "memory.memsw.limit_in_bytes", sw)
                else:
                    if memsw_ok and sw is not None:
                        write(m / "memory.memsw.limit_in_bytes", -1 if sw == -1 else sw)
                    write(m / "memory.limit_in_bytes", lim.memory)
                    if memsw_ok and sw is not None and sw != -1:
                        write(m / "memory.memsw.limit_in_bytes", sw)
                if not memsw_ok and lim.memory_swap not in (None, -1):
                    warnings.append("Your kernel does not support swap limit capabilities. "
                                    "Limitation discarded.")
            if lim.memory_reservation is not None:
                write(m / "memory.soft_limit_in_bytes", lim.memory_reservation)
        if "cpu" in p:
            if lim.cpu_period is not None:
                write(p["cpu"] / "cpu.cfs_period_us", lim.cpu_period)
            if lim.cpu_quota is not None:
                write(p["cpu"] / "cpu.cfs_quota_us", lim.cpu_quota)
            if lim.cpu_shares is not None:
                write(p["cpu"] / "cpu.shares", lim.cpu_shares)
        if "cpuset" in p:
            if lim.cpuset_cpus:
                write(p["cpuset"] / "cpuset.cpus", lim.cpuset_cpus)
            if lim.cpuset_mems:
                write(p["cpuset"] / "cpuset.mems", lim.cpuset_mems)
        if "pids" in p and lim.pids_limit is not None:
            write(p["pids"] / "pids.max", lim.pids_limit)
        if lim.blkio_weight is not None:
            f = p.get("blkio", Path("/nonexistent")) / "blkio.weight"
            if f.exists():
                write(f, lim.blkio_weight)
            else:
                warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                                "Weight discarded.")
        if "devices" in p:
            d = p["devices"]
            if lim.allow_all_devices:
                write(d / "devices.allow", "a")
            else:
                write(d / "devices.deny", "a")
                for rule in DEFAULT_DEVICES:
                    write(d / "devices.allow", rule)
        return warnings

    def allow_devices(self, rules: list[str]) -> None:
        """Add ``devices.allow`` rules (``--device`` nodes) to the defaults ``apply`` wrote."""
        d = self._paths.get("devices")
        if d is None:
            return
        for rule in rules:
            write(d / "devices.allow", rule)

    def freeze(self) -> None:
        self._freezer("FROZEN")

    def thaw(self) -> None:
        self._freezer("THAWED")

    def kill_all(self, sig: int = 9) -> None:
        """Signal every process, the group frozen meanwhile (as runc does on v1): a group that keeps
        forking would otherwise outrun one pass over cgroup.procs with children it made after the read."""
        if "freezer" not in self._paths:
            return super().kill_all(sig)
        self.freeze()
        try:
            super().kill_all(sig)
        finally:
            self.thaw()

    def _freezer(self, state: str) -> None:
        f = self._paths["freezer"] / "freezer.state"
        deadline = time.monotonic() + 5
        while True:
            write(f, state)
            if read(f) == state or time.monotonic() > deadline:
                return
            time.sleep(0.001)

    def frozen(self) -> bool:
        return read(self._paths["freezer"] / "freezer.state") == "FROZEN" if "freezer" in self._paths else False

    def stats(self) -> dict:
        p = self._paths
        m = p.get("memory")
        out: dict = {"memory": {}, "cpu": {}, "pids": {}, "blkio": {}}
        if m:
            limit = read_int(m / "memory.limit_in_bytes")
            out["memory"] = {
                "usage": read_int(m / "memory.usage_in_bytes"),
                "max_usage": read_int(m / "memory.max_usage_in_bytes"),
                "limit": limit,
                "stats": keyed(m / "memory.stat"),
            }
        if "cpuacct" in p:
            percpu = [int(x) for x in read(p["cpuacct"] / "cpuacct.usage_percpu").split() if x.isdigit()]
            out["cpu"] = {"usage_ns": read_int(p["cpuacct"] / "cpuacct.usage"), "percpu_ns": percpu}
        if "cpu" in p:
            st = keyed(p["cpu"] / "cpu.stat")
            out["cpu"]["throttling"] = {"periods": st.get("nr_periods", 0),
                                        "throttled_periods": st.get("nr_throttled", 0),
                                        "throttled_time": st.get("throttled_time", 0)}
        if "pids" in p:
            mx = read(p["pids"] / "pids.max")
            out["pids"] = {"current": read_int(p["pids"] / "pids.current"),
                           "limit": 0 if mx in ("", "max") else int(mx)}
        if "blkio" in p:
            rd = wr = 0
            for line in read(p["blkio"] / "blkio.throttle.io_service_bytes").splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] == "Read":
                    rd += int(parts[2])
                elif len(parts) == 3 and parts[1] == "Write":
                    wr += int(parts[2])
            out["blkio"] = {"read_bytes": rd, "write_bytes": wr}
        return out

    def oom_killed(self) -> bool:
        m = self._paths.get("memory")
        if not m:
            return False
        oc = keyed(m / "memory.oom_control")
        return oc.get("oom_kill", 0) > 0

    def destroy(self, timeout: float = 2.0) -> None:
        if "freezer" in self._paths and self._paths["freezer"].is_dir():
            try:
                if self.frozen():
                    self.thaw()
            except OSError as e:  # pragma: no cover
                if e.errno != errno.ENOENT:
                    raise
        super().destroy(timeout)
