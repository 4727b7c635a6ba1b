"""``top`` and ``stats`` of a container, from its cgroup and /proc.

Why from the cgroup: every process of a container (exec'd ones too) is in
``pycompose/<id>``, so its ``cgroup.procs`` is the exact process list and its
accounting files are Docker's stats figures; network counters come from the
container's network namespace (``/proc/<pid>/net/dev`` of its pid 1).
"""
from __future__ import annotations

import os
import pwd
import subprocess
import time
from pathlib import Path

from engine.errors import InvalidArgument

CLK_TCK = os.sysconf("SC_CLK_TCK")
ZERO_TIME = "0001-01-01T00:00:00Z"


def _cgroup(cid: str):
    from engine.cgroups import container_cgroup

    return container_cgroup(cid)


def container_pids(cid: str, pid1: int) -> list[int]:
    """The container's processes: its cgroup's members, or pid 1 and its descendants."""
    try:
        cg = _cgroup(cid)
        if cg.exists():
            pids = cg.pids()
            if pids:
                return sorted(pids)
    except Exception:  # noqa: BLE001 - fall back to the process tree
        pass
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st:
                children.setdefault(st["ppid"], []).append(int(d))
    out, todo = [], [pid1]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return sorted(out)


def _stat(pid: int) -> dict | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    f = raw[raw.rindex(")") + 2:].split()
    return {"comm": comm, "state": f[0], "ppid": int(f[1]), "tty": int(f[4]), "utime": int(f[11]),
            "stime": int(f[12]), "start": int(f[19])}


def _uid(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _tty_name(nr: int) -> str:
    if not nr:
        return "?"
    major, minor = (nr >> 8) & 0xFFF, (nr & 0xFF) | ((nr >> 12) & 0xFFF00)
    if 136 <= major <= 143:
        return f"pts/{minor + (major - 136) * 256}"
    if major == 4:
        return f"tty{minor}"
    return "?"


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime"):
            return float(line.split()[1])
    return 0.0


def _cmdline(pid: int, comm: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        raw = b""
    if not raw:
        return f"[{comm}]"
    return " ".join(a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0"))


def top(cid: str, pid1: int, ps_args: str | None = None) -> dict:
    """Docker's /containers/{id}/top: ``ps -ef`` columns, or the host's ``ps ARGS`` rows of these pids."""
    pids = container_pids(cid, pid1)
    if ps_args:
        return _ps(pids, ps_args)
    now, boot = time.time(), _boot_time()
    rows = []
    for p in pids:
        st = _stat(p)
        if st is None:
            continue
        started = boot + st["start"] / CLK_TCK
        cpu_s = (st["utime"] + st["stime"]) / CLK_TCK
        elapsed = max(now - started, 1e-9)
        lt = time.localtime(started)
        stime = time.strftime("%H:%M", lt) if now - started < 86400 else time.strftime("%b%d", lt)
        t = int(cpu_s)
        rows.append([_user(_uid(p)), str(p), str(st["ppid"]), str(int(cpu_s * 100 / elapsed)), stime,
                     _tty_name(st["tty"]), f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}",
                     _cmdline(p, st["comm"])])
    return {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], "Processes": rows}


def _ps(pids: list[int], ps_args: str) -> dict:
    """Docker's way for custom arguments: run the host's ``ps`` and keep the container's rows."""
    import shlex

    try:
        out = subprocess.run(["ps", *shlex.split(ps_args)], capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise InvalidArgument("ps is not installed on this host; run `top` without ps options") from None
    except subprocess.CalledProcessError as e:
        raise InvalidArgument(f"Error running ps: {e.stderr.strip() or e}") from None
    lines = out.splitlines()
    if not lines:
        return {"Titles": [], "Processes": []}
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidArgument(f"Couldn't find PID field in ps output")
    col = titles.index("PID")
    wanted = {str(p) for p in pids}
    rows = []
    for line in lines[1:]:
        f = line.split(None, len(titles) - 1)
        if len(f) > col and f[col] in wanted:
            rows.append(f)
    return {"Titles": titles, "Processes": rows}


# ----------------------------------------------------------------------------- stats


def system_cpu_ns() -> int:
    """Host CPU time (all cpus, all states) in ns, as Docker's ``system_cpu_usage``."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * 1_000_000_000 // CLK_TCK


def _mem_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def net_dev(pid: int) -> dict:
    """Per-interface counters of the network namespace of ``pid`` (without lo)."""
    out = {}
    try:
        lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    except OSError:
        return out
    for line in lines:
        name, _, rest = line.partition(":")
        name = name.strip()
        if name == "lo":
            continue
        v = [int(x) for x in rest.split()]
        out[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                     "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11]}
    return out


def _now() -> str:
    from engine.containers import now_iso

    return now_iso()


def stats(rec: dict, previous: dict | None = None) -> dict:
    """One Docker stats sample of a container (zeros when it is not running)."""
    st = rec.get("State") or {}
    cid = rec["Id"]
    running = bool(st.get("Running")) and bool(st.get("Pid"))
    raw: dict = {"memory": {}, "cpu": {}, "pids": {}, "blkio": {}}
    if running:
        try:
            cg = _cgroup(cid)
            if cg.exists():
                raw = cg.stats()
        except Exception:  # noqa: BLE001 - gone meanwhile: report zeros like a stopped container
            pass
    mem, cpu, pids, blk = raw.get("memory") or {}, raw.get("cpu") or {}, raw.get("pids") or {}, raw.get("blkio") or {}
    limit = int(mem.get("limit") or 0)
    host_mem = _mem_total()
    if not limit or limit > host_mem:
        limit = host_mem
    thr = cpu.get("throttling") or {}
    cpu_stats = {
        "cpu_usage": {"total_usage": int(cpu.get("usage_ns") or 0), "percpu_usage": cpu.get("percpu_ns") or None,
                      "usage_in_kernelmode": int(cpu.get("system_ns") or 0),
                      "usage_in_usermode": int(cpu.get("user_ns") or 0)},
        "system_cpu_usage": system_cpu_ns() if running else 0,
        "online_cpus": (os.cpu_count() or 1) if running else 0,
        "throttling_data": {"periods": int(thr.get("periods") or 0),
                            "throttled_periods": int(thr.get("throttled_periods") or 0),
                            "throttled_time": int(thr.get("throttled_time") or 0)},
    }
    prev_cpu = (previous or {}).get("cpu_stats") or {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "system_cpu_usage": 0, "online_cpus": 0, "throttling_data": {"periods": 0, "throttled_periods": 0,
                                                                     "throttled_time": 0}}
    out = {
        "name": rec["Name"], "id": cid,
        "read": _now() if running else ZERO_TIME,
        "preread": (previous or {}).get("read") or ZERO_TIME,
        "pids_stats": {"current": int(pids.get("current") or 0), **({"limit": int(pids["limit"])}
                                                                    if pids.get("limit") else {})},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": int(blk.get("read_bytes") or 0)},
            {"major": 0, "minor": 0, "op": "write", "value": int(blk.get("write_bytes") or 0)},
        ] if running else None},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_stats,
        "precpu_stats": prev_cpu,
        "memory_stats": {"usage": int(mem.get("usage") or 0), "max_usage": int(mem.get("max_usage") or 0),
                         "stats": mem.get("stats") or {}, "limit": limit} if running else {},
        "networks": net_dev(int(st["Pid"])) if running else {},
    }
    return out


# ---- the figures `docker stats` prints, from one sample (the CLI and tests use them)


def cpu_percent(s: dict) -> float:
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    d_cpu = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    d_sys = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    n = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    if d_sys > 0 and d_cpu > 0:
        return d_cpu / d_sys * n * 100.0
    return 0.0


def mem_usage(s: dict) -> int:
    """Usage without the page cache, like the docker CLI (v1: total_inactive_file; v2: inactive_file)."""
    m = s.get("memory_stats") or {}
    usage = int(m.get("usage") or 0)
    st = m.get("stats") or {}
    for k in ("total_inactive_file", "inactive_file"):
        if k in st and st[k] < usage:
            return usage - int(st[k])
    return usage


def mem_percent(s: dict) -> float:
    limit = int((s.get("memory_stats") or {}).get("limit") or 0)
    return mem_usage(s) / limit * 100.0 if limit else 0.0


def net_io(s: dict) -> tuple[int, int]:
    rx = sum(v.get("rx_bytes", 0) for v in (s.get("networks") or {}).values())
    tx = sum(v.get("tx_bytes", 0) for v in (s.get("networks") or {}).values())
    return rx, tx


def block_io(s: dict) -> tuple[int, int]:
    rd = wr = 0
    for e in (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        if e.get("op", "").lower() == "read":
            rd += int(e.get("value") or 0)
        elif e.get("op", "").lower() == "write":
            wr += int(e.get("value") or 0)
    return rd, wr
