"""Resource limits as asked for (Docker's HostConfig) and their cgroup values.

Pure functions only: what the user asked, checked against what the host has,
converted to the numbers each cgroup version wants. The v1/v2 classes just
write these numbers, so all the arithmetic is unit-tested without a kernel.
"""
from __future__ import annotations

import os

from engine.errors import InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024  # Docker refuses less: "Minimum memory limit allowed is 6MB"
DEFAULT_CFS_PERIOD = 100_000  # microseconds, the kernel's and Docker's default


class Limits:
    """What a container may use. ``None`` (or 0 where Docker uses 0) means "no limit".

    A plain class, not a dataclass: ``create`` checks limits on the run path, and importing
    dataclasses (inspect, ast, dis) would cost every ``container run`` a few milliseconds."""

    memory: int | None = None  # bytes
    memory_swap: int | None = None  # bytes, memory+swap; -1 unlimited swap
    memory_reservation: int | None = None  # bytes, soft limit
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None  # microseconds
    cpu_shares: int | None = None  # relative weight (v1 shares, 2..262144)
    cpuset_cpus: str | None = None  # "0-1", "0,2"
    cpuset_mems: str | None = None
    pids_limit: int | None = None  # > 0; None / 0 / -1 unlimited
    blkio_weight: int | None = None  # 10..1000
    allow_all_devices: bool = False  # privileged

    def __init__(self, **values) -> None:
        warnings = values.pop("warnings", None)
        for key, value in values.items():
            if key not in _FIELDS:
                raise TypeError(f"Limits() got an unexpected keyword argument {key!r}")
            setattr(self, key, value)
        self.warnings: list[str] = list(warnings or [])

    def _values(self) -> tuple:
        return tuple(getattr(self, k) for k in _FIELDS) + (self.warnings,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and self._values() == other._values()

    def __repr__(self) -> str:
        return "Limits(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in (*_FIELDS, "warnings")) + ")"


_FIELDS = ("memory", "memory_swap", "memory_reservation", "cpu_quota", "cpu_period", "cpu_shares", "cpuset_cpus",
           "cpuset_mems", "pids_limit", "blkio_weight", "allow_all_devices")


def parse_cpuset(spec: str) -> set[int]:
    """``"0-2,4"`` -> {0, 1, 2, 4}; raises InvalidArgument on a malformed list."""
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = part.split("-", 1)
                a, b = int(lo), int(hi)
                if a > b:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise InvalidArgument(f"invalid cpuset {spec!r}: expected a list like 0-2,4") from None
    return out


def limits_from_hostconfig(hc: dict, host_cpus: int | None = None,
                           available_cpus: set[int] | None = None) -> Limits:
    """Docker HostConfig -> checked ``Limits``, with Docker's error messages."""
    host_cpus = host_cpus or os.cpu_count() or 1
    lim = Limits()
    mem = int(hc.get("Memory") or 0)
    swap = int(hc.get("MemorySwap") or 0)
    res = int(hc.get("MemoryReservation") or 0)
    if mem < 0:
        raise InvalidArgument("invalid memory limit: must be a positive number")
    if mem:
        if mem < MIN_MEMORY:
            raise InvalidArgument("Minimum memory limit allowed is 6MB")
        lim.memory = mem
        if swap == 0:
            lim.memory_swap = 2 * mem  # Docker: swap defaults to the same again
        elif swap == -1:
            lim.memory_swap = -1
        elif swap < mem:
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
        else:
            lim.memory_swap = swap
    elif swap > 0:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    if res:
        if res < 0:
            raise InvalidArgument("invalid memory reservation: must be a positive number")
        if mem and res > mem:
            raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
        lim.memory_reservation = res

    nano = int(hc.get("NanoCpus") or 0)
    quota = int(hc.get("CpuQuota") or 0)
    period = int(hc.get("CpuPeriod") or 0)
    if nano and (quota or period):
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano:
        if nano < 0 or nano > host_cpus * 1_000_000_000:
            raise InvalidArgument(
                f"Range of CPUs is from 0.01 to {host_cpus}.00, as there are only {host_cpus} CPUs available")
        lim.cpu_period = DEFAULT_CFS_PERIOD
        lim.cpu_quota = max(1000, nano * DEFAULT_CFS_PERIOD // 1_000_000_000)
    else:
        if period and not 1000 <= period <= 1_000_000:
            raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        if quota and quota < 1000:
            raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
        if quota:
            lim.cpu_quota, lim.cpu_period = quota, period or DEFAULT_CFS_PERIOD
        elif period:
            lim.cpu_period = period
    shares = int(hc.get("CpuShares") or 0)
    if shares:
        lim.cpu_shares = min(max(shares, 2), 262144)

    cpus = hc.get("CpusetCpus") or ""
    if cpus:
        want = parse_cpuset(cpus)
        avail = available_cpus if available_cpus is not None else set(range(host_cpus))
        if not want <= avail:
            have = ",".join(str(c) for c in sorted(avail))
            raise InvalidArgument(f"Requested CPUs are not available - requested {cpus}, available: {have}")
        lim.cpuset_cpus = cpus
    if hc.get("CpusetMems"):
        parse_cpuset(hc["CpusetMems"])
        lim.cpuset_mems = hc["CpusetMems"]

    pids = hc.get("PidsLimit")
    if pids is not None and int(pids) > 0:
        lim.pids_limit = int(pids)
    weight = int(hc.get("BlkioWeight") or 0)
    if weight:
        if not 10 <= weight <= 1000:
            raise InvalidArgument("Range of blkio weight is from 10 to 1000")
        lim.blkio_weight = weight
    lim.allow_all_devices = bool(hc.get("Privileged"))
    return lim


# ---- v2 conversions (the kernel's cgroup v2 files use other units than v1 / Docker)

def shares_to_weight(shares: int) -> int:
    """v1 cpu.shares (2..262144) -> v2 cpu.weight (1..10000), runc's mapping."""
    if shares <= 0:
        return 100
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """v1 blkio.weight (10..1000) -> v2 io.weight (1..10000), runc's mapping."""
    return 1 + ((weight - 10) * 9999) // 990


def v2_cpu_max(quota: int | None, period: int | None) -> str | None:
    """The ``cpu.max`` line: ``"<quota|max> <period>"``; None when nothing to write."""
    if quota is None and period is None:
        return None
    return f"{quota if quota else 'max'} {period or DEFAULT_CFS_PERIOD}"


def v2_swap_max(memory: int | None, memory_swap: int | None) -> str | None:
    """v2 counts swap apart from memory: ``memory.swap.max`` = (memory+swap) - memory."""
    if memory_swap is None:
        return None
    if memory_swap == -1:
        return "max"
    return str(max(0, memory_swap - (memory or 0)))
