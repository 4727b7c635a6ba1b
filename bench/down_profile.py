#!/usr/bin/env python3
"""Where `pycompose down -t 1` spends its time, per phase (the profile behind bench/up.py's down figures).

Why apart from bench/up.py: that one times whole processes beside Docker Compose; this one runs the
same `down` as a separate process (interpreter and imports included, as a user runs it) with timers
wrapped around each phase, so a change can be aimed at the phase that costs. Per size it prints the
medians of --repeat downs of N independent services (gen-compose.py indep):

  process          the whole `down` process, spawn to exit (what bench/up.py measures)
  interpreter      `python -c pass` (a subprocess)
  imports          what `down` imports beyond the interpreter (-X importtime, top-level sum) and the
                   heaviest modules
  start-up         spawn -> the first line of `down`'s main (interpreter + site + compose.cli.main)
  project load     the compose file loaded (open_backend)
  containers list  the project's containers read (records, states, endpoints)
  remove request   the one supervisor request stopping and removing them all (remove_many), or
                   the per-container stop/remove calls of an older tree
  network removal  the project's networks found and removed
  exit             main returned -> the process gone (interpreter teardown)

and the supervisor's side of the request (its phase log, PYCOMPOSE_SUPERVISOR_PHASES=1):
stopped (signals sent -> every container exited, each exit's output/cgroup/state inside),
records (each container's directory, destroy event, progress lines; while the worker works),
network (waiting for the worker's one batch after that), net-records / net-rules / net-links
(inside the worker: endpoint records, nft re-render, veths and idle bridges deleted in one
netlink batch overlapping the rules), and per exit: output, cgroup, state, replied. CPU seconds
of the down process and of the supervisor are given beside the wall time (the machine is shared).
After each down the script checks that no container, endpoint, veth or network of the project is left.

    python3 bench/down_profile.py [--sizes 10,50] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the paths, the interpreter and the supervisor's CPU, found and read the same way as for up
from up_profile import PY, REPO, SHARED, proc_cpu  # noqa: E402

# Runs as the `down` process: wraps the phases, runs the CLI's main, and at exit writes the spans
# (CLOCK_MONOTONIC, comparable with the parent's) to the file named by argv[1].
WRAPPER = r'''
import atexit, functools, json, sys, threading, time
T0 = time.monotonic()
OUT, ARGV = sys.argv[1], sys.argv[2:]
spans, lock = [], threading.Lock()
def wrap(owner, attr, phase):
    fn = getattr(owner, attr, None)
    if fn is None:
        return
    @functools.wraps(fn)
    def timed(*a, **kw):
        t0 = time.monotonic()
        try:
            r = fn(*a, **kw)
            if phase == "remove request" and hasattr(r, "__next__"):
                r = list(r)
            return r
        finally:
            with lock:
                spans.append((phase, t0, time.monotonic()))
    setattr(owner, attr, timed)
def dump():
    json.dump({"start": T0, "main_end": END[0], "spans": spans}, open(OUT, "w"))
END = [0.0]
atexit.register(dump)
import compose.cli.main as m
import compose.backend as be
import compose.resources as res
from engine.api.containers import Containers
from engine.api.networks import Networks
wrap(be, "open_backend", "project load")
wrap(be.Compose, "containers", "containers list")
wrap(Containers, "remove_many", "remove request")
wrap(Containers, "stop", "remove request")
wrap(Containers, "remove", "remove request")
wrap(res, "project_networks", "network removal")
wrap(Networks, "remove", "network removal")
try:
    rc = m.main(ARGV)
finally:
    END[0] = time.monotonic()
sys.exit(rc)
'''

ORDER = ["process", "start-up", "project load", "containers list", "remove request", "network removal", "exit"]


def env_for(root: str, phases: bool = True) -> dict:
    env = dict(os.environ, PYCOMPOSE_ROOT=root, PYTHONPATH=str(REPO))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured with bytecode present, as bench/up.py does
    if phases:
        env["PYCOMPOSE_SUPERVISOR_PHASES"] = "1"
    return env


def cli(args: list[str], d: Path, env: dict) -> None:
    subprocess.run([PY, "-m", "compose.cli.main", *args], cwd=d, env=env, check=True, capture_output=True)


def one_down(d: Path, project: str, env: dict, out: Path) -> dict[str, float]:
    """One profiled `down`: phase -> ms (union of each phase's spans), plus process, CPU."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run([PY, "-c", WRAPPER, str(out), "-p", project, "--progress", "quiet", "down", "-t", "1"],
                   cwd=d, env=env, check=True, capture_output=True)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = json.loads(out.read_text())
    res = {"process": (t1 - t0) * 1000, "start-up": (data["start"] - t0) * 1000,
           "exit": (t1 - data["main_end"]) * 1000,
           "cpu": (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000}
    by: dict[str, list[tuple[float, float]]] = {}
    for phase, a, b in data["spans"]:
        by.setdefault(phase, []).append((a, b))
    for phase, spans in by.items():
        res[phase] = (max(b for _, b in spans) - min(a for a, _ in spans)) * 1000
    return res


def veths(root: str) -> set[str]:
    """Host veths the root's endpoint records name (checked gone after the down)."""
    names = set()
    for ep in Path(root).glob("networks/endpoints/*.json"):
        names |= {e["HostVeth"] for e in json.loads(ep.read_text()).get("Networks") or [] if e.get("HostVeth")}
    return names


def leftovers(root: str, project: str, before: set[str]) -> list[str]:
    """What of the project is still there after its down (records, endpoints, veths, networks)."""
    left = [f"veth {v}" for v in before if Path(f"/sys/class/net/{v}").exists()]
    for cfg in Path(root).glob("containers/*/config.json"):
        if project in cfg.read_text():
            left.append(f"container {cfg.parent.name[:12]}")
    for ep in Path(root).glob("networks/endpoints/*.json"):
        left.append(f"endpoint {ep.stem[:12]}")
    for net in Path(root).glob("networks/*.json"):
        if project in net.read_text():
            left.append(f"network {net.stem[:12]}")
    return left


def import_profile(d: Path, project: str, env: dict) -> tuple[float, list[tuple[str, float]]]:
    """-X importtime of one `down` (the project already down): total top-level ms, heaviest top-level."""
    r = subprocess.run([PY, "-X", "importtime", "-m", "compose.cli.main", "-p", project, "--progress", "quiet",
                        "down", "-t", "1"], cwd=d, env=env, capture_output=True, text=True)
    top = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum_us, name = line.split("|")
        if name.startswith("   "):
            continue  # nested: counted in its importer (one space separates the column from a top-level name)
        top.append((name.strip(), int(cum_us) / 1000))
    return sum(t for _, t in top), sorted(top, key=lambda x: -x[1])[:8]


def supervisor_lines(log: Path, offset: int) -> list[str]:
    with open(log, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace").splitlines()


def profile_size(n: int, work: Path, root: str, repeat: int) -> None:
    from engine.api import Engine
    from engine.supervisor import phases

    d = work / f"indep-{n}"
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, str(SHARED / "gen-compose.py"), "indep", str(n), "-o", str(d / "compose.yaml")], check=True)
    project = f"profdown{n}"
    env = env_for(root)
    cli(["-p", project, "--progress", "quiet", "up", "-d"], d, env)  # warm-up cycle
    cli(["-p", project, "--progress", "quiet", "down", "-t", "1"], d, env)
    log = Path(root) / "run" / "supervisor.log"
    rows, sup_cpu, sup, exits, left = [], [], {}, {}, []
    for i in range(repeat):
        cli(["-p", project, "--progress", "quiet", "up", "-d"], d, env)
        pid = Engine(root).supervisor.running_pid() or 0
        offset, c0, held = log.stat().st_size, proc_cpu(pid), veths(root)
        rows.append(one_down(d, project, env, work / "spans.json"))
        sup_cpu.append((proc_cpu(pid) - c0) * 1000)
        left += leftovers(root, project, held)
        lines = supervisor_lines(log, offset)
        for line in lines:
            if line.startswith(f"{phases.PREFIX}remove_many "):
                for part in line.split()[3:]:
                    k, eq, v = part.partition("=")
                    if eq:
                        sup.setdefault(k, []).append(float(v.removesuffix("ms")))
        for k, v in phases.parse(lines, "exit").items():
            exits.setdefault(k, []).extend(v)
    imp_total, imp_top = import_profile(d, project, env_for(root, phases=False))
    base = statistics.median(
        [_wall([PY, "-c", "pass"]) for _ in range(5)]) * 1000
    med = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in set().union(*rows)}
    print(f"\n## indep {n}: down -t 1, medians of {repeat} (load average {os.getloadavg()[0]:.1f})")
    print(f"{'phase':<22} {'ms':>9}")
    for k in ORDER:
        if k in med:
            print(f"{k:<22} {med[k]:>9.1f}")
    print(f"{'  interpreter alone':<22} {base:>9.1f}   (python -c pass)")
    print(f"{'  imports (top-level)':<22} {imp_total:>9.1f}   " + ", ".join(f"{m} {t:.0f}" for m, t in imp_top[:5]))
    print(f"{'CPU: down process':<22} {med['cpu']:>9.1f}")
    print(f"{'CPU: supervisor':<22} {statistics.median(sup_cpu):>9.1f}   (its network worker included once reaped)")
    if sup:
        print("supervisor remove_many (ms): " + ", ".join(
            f"{k}={statistics.median(v):.1f}" for k, v in sup.items()))
    if exits:
        print(f"supervisor per exit (ms, median of {len(next(iter(exits.values())))}): " + ", ".join(
            f"{k}={statistics.median(v):.1f}" for k, v in exits.items()))
    print("left behind: " + (", ".join(sorted(set(left))[:8]) if left else "nothing"))


def _wall(cmd: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, check=True)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,50")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="pyc-downprof-")
    work = Path(tempfile.mkdtemp(prefix="pyc-downprof-files-"))
    env = env_for(root)
    subprocess.run([str(REPO / "scripts" / "make-test-image")], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "compose"), str(REPO / "engine")],
                   stdout=subprocess.DEVNULL)
    print(f"# bench/down_profile.py  {time.strftime('%Y-%m-%dT%H:%M:%S')}  ({os.cpu_count()} cores)", flush=True)
    try:
        for n in [int(x) for x in args.sizes.split(",")]:
            profile_size(n, work, root, args.repeat)
    finally:
        from engine.api import Engine

        Engine(root).shutdown()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
