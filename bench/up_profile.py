#!/usr/bin/env python3
"""Where `pycompose up -d` spends its time, per phase (the profile behind bench/up.py's figures).

Why a separate script: bench/up.py times whole processes beside the peers; this one runs the same
`up -d` in-process with timers around each phase of the up path, so a change can be aimed at the
phase that costs. Printed per phase: how many calls, the sum of their durations (threads overlap,
so sums can exceed the wall time) and the wall-clock span from the phase's first start to its last
end. The phases:

  interpreter     `python -c pass` (a subprocess)
  imports         what `up` imports beyond the interpreter (a subprocess importing the up path)
  model load      the loader (files, interpolation, validation, model)
  plan            make_plan: convert + hashes + image checks + the project's containers
  image checks    images.inspect per distinct image (inside plan)
  network create  ensure_networks (the project's default network)
  events          subscribing to the engine's event stream (sch.Watch)
  create          engine containers.create per container (record written + create event)
  start request   the supervisor's start request (one per container, or one per batch), round trip
  readiness       (healthy-chain) a dependency's first passing probe -> its dependent started

and the supervisor's own phases of each start (its phase log, PYCOMPOSE_SUPERVISOR_PHASES=1):
spec, cgroup, stdio, net-prepare (wait for the network worker), forked, cgroup-joined (the child's
rootfs setup overlaps), net-attach, exec (the child's last setup until exec), state, event.
CPU seconds of the CLI process and of the supervisor (its own and its reaped children's) are
given beside the wall time, since the machine is shared.

    python3 bench/up_profile.py [--sizes 10,50] [--repeat 2] [--chain 10] [--interval 200ms]
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "peers"
if not SHARED.exists():
    SHARED = Path("/work/shared/peers")
PY = sys.executable
UP_IMPORTS = ("compose.cli.main, compose.cli.up, compose.backend, compose.loader, compose.scheduler, "
              "compose.convert, compose.plan, compose.hash, anyio, anyio.to_thread, engine.api")


class Timeline:
    """(phase, start, end) spans recorded from any thread."""

    def __init__(self):
        self.spans: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def wrap(self, owner, attr: str, phase: str) -> None:
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                with self.lock:
                    self.spans.append((phase, t0, time.perf_counter()))

        setattr(owner, attr, timed)

    def add(self, phase: str, t0: float, t1: float) -> None:
        with self.lock:
            self.spans.append((phase, t0, t1))

    def summary(self) -> dict[str, tuple[int, float, float]]:
        out: dict[str, list[tuple[float, float]]] = {}
        for phase, t0, t1 in self.spans:
            out.setdefault(phase, []).append((t0, t1))
        return {p: (len(v), sum(b - a for a, b in v), max(b for _, b in v) - min(a for a, _ in v))
                for p, v in out.items()}


def subprocess_wall(code: str, n: int = 5) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def proc_cpu(pid: int) -> float:
    """utime+stime+cutime+cstime of ``pid`` in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def instrument(tl: Timeline) -> None:
    import compose.backend as be
    import compose.resources as res
    import compose.scheduler as sch
    from engine.api.containers import Containers
    from engine.supervisor.client import SupervisorClient

    tl.wrap(be, "load_project", "model load")
    tl.wrap(be.Compose, "make_plan", "plan")
    tl.wrap(be.Compose, "image_ids", "image checks")
    tl.wrap(be.Compose, "convert", "convert")
    tl.wrap(res, "ensure_networks", "network create")
    tl.wrap(Containers, "create", "create")
    for attr in ("start", "start_many"):
        if hasattr(SupervisorClient, attr):
            tl.wrap(SupervisorClient, attr, "start request")
    enter = sch.Watch.__aenter__

    async def timed_enter(self):
        t0 = time.perf_counter()
        try:
            return await enter(self)
        finally:
            tl.add("events", t0, time.perf_counter())

    sch.Watch.__aenter__ = timed_enter


def run_up(d: Path, project: str, root: str) -> tuple[float, float]:
    """One in-process ``up -d``: (wall, CLI CPU seconds)."""
    from compose.cli.main import main

    cwd = os.getcwd()
    os.chdir(d)
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        rc = main(["-p", project, "--progress", "quiet", "up", "-d"])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        os.chdir(cwd)
    if rc != 0:
        raise SystemExit(f"up failed (rc {rc})")
    return wall, cpu


def down(d: Path, project: str, env: dict) -> None:
    r = subprocess.run([PY, "-m", "compose.cli.main", "-p", project, "--progress", "quiet", "down", "-t", "1"],
                       cwd=d, env=env, capture_output=True, text=True)
    if r.returncode != 0:  # the profile is of up: clear the project through the API and say so
        from engine.api import Engine

        print(f"  (down failed: {r.stderr.strip()[-200:]}; cleared through engine.api)")
        eng = Engine(env["PYCOMPOSE_ROOT"])
        for c in eng.containers.list(all=True, filters={"label": [f"com.docker.compose.project={project}"]}):
            eng.containers.remove(c["Id"], force=True)
        for n in eng.networks.list(filters={"label": [f"com.docker.compose.project={project}"]}):
            eng.networks.remove(n["Id"])


def supervisor_phases(log: Path, offset: int) -> dict[str, list[float]]:
    from engine.supervisor import phases

    with open(log, "rb") as f:
        f.seek(offset)
        return phases.parse(f.read().decode(errors="replace").splitlines())


def profile_size(shape: str, n: int, work: Path, root: str, env: dict, repeat: int, extra: list[str]) -> None:
    from engine.api import Engine

    d = work / f"{shape}-{n}"
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run([PY, str(SHARED / "gen-compose.py"), shape, str(n), "-o", str(d / "compose.yaml"), *extra],
                   check=True)
    project = f"prof{shape.replace('-', '')}{n}"
    run_up(d, project, root)  # warm-up: the supervisor and network worker started, page cache warm
    down(d, project, env)
    log = Path(root) / "run" / "supervisor.log"
    sup_pid = Engine(root).supervisor.running_pid() or 0
    walls, cpus, sup_cpus, summaries, phases = [], [], [], [], {}
    for _ in range(repeat):
        TL.spans.clear()
        offset = log.stat().st_size if log.exists() else 0
        s0 = proc_cpu(sup_pid)
        wall, cpu = run_up(d, project, root)
        walls.append(wall)
        cpus.append(cpu)
        sup_cpus.append(proc_cpu(sup_pid) - s0)
        summaries.append(TL.summary())
        for k, v in supervisor_phases(log, offset).items():
            phases.setdefault(k, []).extend(v)
        if shape == "healthy-chain":
            print(f"  readiness: {readiness(Engine(root), project, n)}")
        down(d, project, env)
    print(f"{shape} {n}: up -d wall {statistics.median(walls):.3f} s; CPU: CLI {statistics.median(cpus):.3f} s, "
          f"supervisor+children {statistics.median(sup_cpus):.3f} s (medians of {repeat})")
    phases_seen = sorted({p for s in summaries for p in s}, key=lambda p: _ORDER.get(p, 99))
    for p in phases_seen:
        rows = [s[p] for s in summaries if p in s]
        calls = rows[0][0]
        total = statistics.median(r[1] for r in rows) * 1000
        span = statistics.median(r[2] for r in rows) * 1000
        per = f", {total / calls:.1f} ms each" if calls > 1 else ""
        print(f"  {p:<16} {calls:>3} call(s)  sum {total:8.1f} ms  span {span:8.1f} ms{per}")
    if phases:
        print("  supervisor, per start (median ms): " +
              ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in phases.items()))


TL = Timeline()
_ORDER = {p: i for i, p in enumerate(["model load", "plan", "convert", "image checks", "network create", "events",
                                      "create", "start request"])}


def readiness(engine, project: str, n: int) -> str:
    """Per link: the dependency's first passing probe ended -> the dependent started (engine timestamps)."""
    from engine.values import parse_rfc3339

    infos = [engine.containers.inspect(f"{project}-s{i:03d}-1") for i in range(n)]
    delays = []
    for prev, cur in zip(infos, infos[1:]):
        ok = [e for e in ((prev["State"].get("Health") or {}).get("Log") or []) if e.get("ExitCode") == 0]
        if ok:
            delays.append((parse_rfc3339(cur["State"]["StartedAt"]) - parse_rfc3339(ok[0]["End"])) / 1e6)
    if not delays:
        return "no timestamps"
    return f"healthy -> dependent started median {statistics.median(delays):.1f} ms, max {max(delays):.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,50")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--chain", type=int, default=10, help="healthy-chain length (0: none)")
    ap.add_argument("--interval", default="200ms", help="healthcheck interval of the chain")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="pyc-upprof-")
    work = Path(tempfile.mkdtemp(prefix="pyc-upprof-files-"))
    env = dict(os.environ, PYCOMPOSE_ROOT=root, PYTHONPATH=str(REPO), PYCOMPOSE_SUPERVISOR_PHASES="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.update(PYCOMPOSE_ROOT=root, PYCOMPOSE_SUPERVISOR_PHASES="1")
    subprocess.run([str(REPO / "scripts" / "make-test-image")], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "compose"), str(REPO / "engine")],
                   stdout=subprocess.DEVNULL)
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        print(f"# bench/up_profile.py  load average {load}  ({os.cpu_count()} cores)")
        bare = subprocess_wall("pass")
        imports = subprocess_wall(f"import {UP_IMPORTS}")
        print(f"interpreter {bare * 1000:.0f} ms; up-path imports {max(0.0, imports - bare) * 1000:.0f} ms "
              f"(subprocesses, bytecode present)")
        exec(f"import {UP_IMPORTS}")  # in-process runs below: imports are not counted in the phases
        instrument(TL)
        for n in [int(x) for x in args.sizes.split(",") if x]:
            profile_size("indep", n, work, root, env, args.repeat, [])
        if args.chain:
            profile_size("healthy-chain", args.chain, work, root, env, 1, ["--interval", args.interval])
    finally:
        cleanup(root, work)
    return 0


def cleanup(root: str, work: Path) -> None:
    """The data root's supervisor (and so every container) ended, both temporary trees removed."""
    from engine.api import Engine

    with contextlib.suppress(Exception):
        Engine(root).shutdown()
    for tree in (root, work):
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
