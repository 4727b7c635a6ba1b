#!/usr/bin/env python3
"""Engine benchmark: starting one container, starting 50, and the engine's own memory for 50 idle ones,
beside runc, Docker and podman measured in the same run.

  python3 bench/engine.py [-n 15] [--count 50] [--no-peers] [--json FILE]

Figures (medians of -n runs after warm-ups, min..max in brackets):

* create+start until the container's process runs (engine.api in-process: ``start`` returns once
  the user command has been exec'd), beside ``runc run`` of the same busybox rootfs bundle
  (/bin/true, start to exit) and our create+start+exit of ``true``, which is the like-for-like
  figure; runs alternate (ours, runc, ours, ...) so the drift of a shared machine cancels out;
  where the supervisor's start op spends its time (its phase log, PYCOMPOSE_SUPERVISOR_PHASES);
  ``docker run --rm busybox true`` beside ``pycompose container run --rm busybox true``
  (whole processes, CLI start-up included);
* time to create+start ``--count`` ``sleep`` containers one after the other;
* PSS of the engine's own processes (the supervisor; measured once the network worker, which
  exits after a few seconds without work, is gone) with ``--count`` idle containers, beside
  Docker's dockerd+containerd+shims and podman's conmons (/work/shared/peers/mem.py).

Peers that are not installed are reported as such. Docker is started in its own netns by
/work/shared/peers/daemons.sh when it is not running, and stopped again only if we started it.
Everything this script creates (data root, containers) is removed at the end.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PEERS = Path("/work/shared/peers")
PEER_IMAGES = Path(os.environ.get("IMG_DIR", "/tmp/peer-images"))


def med(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"{statistics.median(xs) * 1000:.1f} ms ({min(xs) * 1000:.1f}..{max(xs) * 1000:.1f}, n={len(xs)})"


def timed(fn, n: int, warmup: int = 2, between=None) -> list[float]:
    """Times of ``n`` calls of ``fn`` after ``warmup`` ones; ``between`` (if given) runs after each
    call, untimed here: the peer whose runs alternate with ours."""
    out = []
    for i in range(n + warmup):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if i >= warmup:
            out.append(dt)
        if between is not None:
            between(i >= warmup)
    return out


class Alternate:
    """A peer command timed between our runs (its warm-up runs are not kept)."""

    def __init__(self, once):
        self.once, self.times = once, []

    def __call__(self, keep: bool) -> None:
        t0 = time.perf_counter()
        self.once()
        if keep:
            self.times.append(time.perf_counter() - t0)


def phase_figures(log: Path, offset: int) -> tuple[dict[str, list[float]], int]:
    """Per-phase milliseconds of the starts the supervisor logged after ``offset``; the new offset."""
    from engine.supervisor import phases

    with open(log, "rb") as f:
        f.seek(offset)
        data = f.read()
    return phases.parse(data.decode(errors="replace").splitlines()), offset + len(data)


def run_quiet(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def pss_of(pid: int) -> float:
    """PSS of one process in MiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def engine_processes(root: Path, container_pids: set[int]) -> list[int]:
    """The supervisor and any helper of ours that is not a container process."""
    pid = int((root / "run" / "supervisor.pid").read_text().split()[0])
    out = [pid]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes()
        except OSError:
            continue
        if int(d) != pid and str(root).encode() in cmd and b"pycompose" in cmd and int(d) not in container_pids:
            out.append(int(d))
    return out


# ----------------------------------------------------------------------------- ours


def bench_ours(root: Path, n: int, count: int, runc_once=None) -> dict:
    """Our figures; ``runc_once`` (when runc is there) runs between ours in the one-container series."""
    from engine.api import Engine

    eng = Engine(str(root))
    res: dict = {}
    log = root / "run" / "supervisor.log"
    runc_a, runc_b = (Alternate(runc_once), Alternate(runc_once)) if runc_once else (None, None)

    split: dict[str, list[float]] = {"create": [], "start": []}

    def start_running():
        t0 = time.perf_counter()
        cid = eng.containers.create({"Image": "busybox", "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}})
        t1 = time.perf_counter()
        eng.containers.start(cid)
        split["create"].append(t1 - t0)
        split["start"].append(time.perf_counter() - t1)
        start_running.ids.append(cid)

    start_running.ids = []

    def start_to_exit():
        cid = eng.containers.create({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})
        eng.containers.start(cid)
        eng.containers.wait(cid)
        start_to_exit.ids.append(cid)

    start_to_exit.ids = []

    def start_running_bridge():
        cid = eng.containers.create({"Image": "busybox", "Cmd": ["sleep", "300"]})
        eng.containers.start(cid)
        start_running_bridge.ids.append(cid)

    start_running_bridge.ids = []

    try:
        eng.supervisor.ensure_running()
        offset = log.stat().st_size
        res["api_create_start_running"] = timed(start_running, n, between=runc_a)
        res["api_create_only"], res["api_start_only"] = split["create"][2:], split["start"][2:]
        res["start_phases_ms"] = {k: v[2:] for k, v in phase_figures(log, offset)[0].items()}  # no warm-ups
        res["runc_alternating_running"] = runc_a.times if runc_a else None
        for cid in start_running.ids:
            eng.containers.remove(cid, force=True)
        res["api_create_start_running_bridge"] = timed(start_running_bridge, n)
        for cid in start_running_bridge.ids:
            eng.containers.remove(cid, force=True)
        res["api_create_start_exit_true"] = timed(start_to_exit, n, between=runc_b)
        res["runc_alternating_exit"] = runc_b.times if runc_b else None
        for cid in start_to_exit.ids:
            eng.containers.remove(cid, force=True)

        env = dict(os.environ, PYCOMPOSE_ROOT=str(root))
        cli = [sys.executable, "-m", "compose.cli.main", "container", "run", "--rm", "--network", "none",
               "busybox", "true"]
        res["cli_run_rm_true"] = timed(lambda: run_quiet(cli, env=env, cwd=REPO, check=True), n, warmup=1)
        version = [sys.executable, "-m", "compose.cli.main", "--version"]
        res["cli_version"] = timed(lambda: run_quiet(version, env=env, cwd=REPO, check=True), n, warmup=1)

        ids = []
        t0 = time.perf_counter()
        for _ in range(count):
            cid = eng.containers.create({"Image": "busybox", "Cmd": ["sleep", "3600"]})
            eng.containers.start(cid)
            ids.append(cid)
        res["start_many_s"] = time.perf_counter() - t0
        from engine.supervisor import networker

        time.sleep(networker.IDLE + 1.5)  # idle: the network worker (pyroute2, ~30 MiB) has exited
        cpids = {int(eng.containers.record(c)["State"]["Pid"]) for c in ids}
        procs = engine_processes(root, cpids)
        res["engine_pss_mib"] = sum(pss_of(p) for p in procs)
        res["engine_processes"] = len(procs)
        res["engine_process_list"] = [f"{p}:{pss_of(p):.1f}MiB:" + Path(f"/proc/{p}/cmdline").read_bytes()
                                      .replace(b"\0", b" ").decode(errors="replace")[:80] for p in procs]
        t0 = time.perf_counter()
        for cid in ids:
            eng.containers.remove(cid, force=True)
        res["remove_many_s"] = time.perf_counter() - t0
    finally:
        for cid in [c["Id"] for c in eng.containers.list(all=True)]:
            try:
                eng.containers.remove(cid, force=True, volumes=True)
            except Exception:  # noqa: BLE001
                pass
        eng.shutdown()
    return res


# ----------------------------------------------------------------------------- peers


def ensure_peer_images() -> bool:
    if (PEER_IMAGES / "bundle-true" / "config.json").exists():
        return True
    script = PEERS / "make-busybox.sh"
    if not script.exists():
        return False
    return run_quiet(["bash", str(script)], env=dict(os.environ, IMG_DIR=str(PEER_IMAGES))).returncode == 0


def runc_once_fn():
    """One ``runc run`` of /bin/true in the busybox bundle, or None when runc is not installed."""
    if not shutil.which("runc") or not ensure_peer_images():
        return None
    bundle = PEER_IMAGES / "bundle-true"
    counter = iter(range(10 ** 6))

    def once():
        run_quiet(["runc", "run", "-b", str(bundle), f"pyc-bench-{os.getpid()}-{next(counter)}"], check=True)

    return once


def docker_up() -> tuple[bool, bool]:
    """(available, started by us)."""
    if not shutil.which("docker"):
        return False, False
    if run_quiet(["docker", "info"], timeout=20).returncode == 0:
        return True, False
    if not (PEERS / "daemons.sh").exists():
        return False, False
    run_quiet(["bash", str(PEERS / "daemons.sh"), "start-docker"], timeout=120)
    ok = run_quiet(["docker", "info"], timeout=20).returncode == 0
    return ok, ok


def docker_image() -> bool:
    if run_quiet(["docker", "image", "inspect", "busybox"]).returncode == 0:
        return True
    arch = PEER_IMAGES / "busybox-docker-archive.tar"
    return ensure_peer_images() and run_quiet(["docker", "load", "-i", str(arch)]).returncode == 0


def bench_docker_run(n: int) -> list[float]:
    return timed(lambda: run_quiet(["docker", "run", "--rm", "--network", "none", "busybox", "true"], check=True),
                 n, warmup=1)


def peer_mem(kind: str, count: int) -> dict | None:
    """Start ``count`` idle containers with docker or podman, read mem.py, remove them."""
    label = f"pyc-bench-{os.getpid()}"
    if kind == "docker":
        base = ["docker"]
    else:
        if not shutil.which("podman"):
            return None
        base = ["podman"]
        if Path("/run/netns/peers-podman").exists():
            base = ["nsenter", "--net=/run/netns/peers-podman", "podman"]
        if run_quiet(base + ["image", "exists", "busybox"]).returncode != 0:
            arch = PEER_IMAGES / "busybox-docker-archive.tar"
            if not (ensure_peer_images() and run_quiet(base + ["load", "-i", str(arch)]).returncode == 0):
                return None
    names = [f"{label}-{i}" for i in range(count)]
    t0 = time.perf_counter()
    try:
        for nm in names:
            if run_quiet(base + ["run", "-d", "--name", nm, "--label", label, "busybox", "sleep", "3600"]).returncode:
                print(f"  ({kind} run -d failed; no memory figure for {kind})")
                return None
        started = time.perf_counter() - t0
        time.sleep(2)
        out = subprocess.run([sys.executable, str(PEERS / "mem.py"), kind, "--json", "/dev/stdout"],
                             capture_output=True, text=True)
        text = out.stdout
    finally:
        for i in range(0, len(names), 25):
            run_quiet(base + ["rm", "-f", *names[i:i + 25]], timeout=300)
    return {"start_many_s": started, "mem_report": text}


def mem_total(report: str, kind: str) -> tuple[float, str] | None:
    """(engine PSS in MiB, per-group text) from mem.py's JSON record."""
    for line in report.splitlines():
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        groups = ", ".join(f"{k} {g['pss_sum_mib']:.1f} (n={g['count']})" for k, g in (rec.get("groups") or {}).items()
                           if k != "workload")
        return float(rec["engine_pss_mib"]), groups
    return None


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=15, help="timed runs per figure (after warm-ups)")
    ap.add_argument("--count", type=int, default=50, help="containers for the many/idle figures")
    ap.add_argument("--no-peers", action="store_true", help="measure pycompose only")
    ap.add_argument("--json", help="append the figures as one JSON record to this file")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/engine.py needs root (real namespaces and cgroups)", file=sys.stderr)
        return 1

    # an installed package has its bytecode compiled (pip does it); this machine sets
    # PYTHONDONTWRITEBYTECODE, which would make every CLI run compile its modules again
    run_quiet([sys.executable, "-m", "compileall", "-q", str(REPO / "engine"), str(REPO / "compose")])
    root = Path(tempfile.mkdtemp(prefix="pyc-bench-engine-", dir="/tmp"))
    env = dict(os.environ, PYCOMPOSE_ROOT=str(root))
    figures: dict = {}
    docker_started = False
    try:
        subprocess.run([str(REPO / "scripts" / "make-test-image")], check=True, env=env, stdout=subprocess.DEVNULL)
        print(f"pycompose engine benchmark (n={a.n}, {a.count} containers), {time.strftime('%Y-%m-%d %H:%M:%S')}, "
              f"{os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        os.environ["PYCOMPOSE_SUPERVISOR_PHASES"] = "1"  # the daemon logs where each start spends its time
        runc_once = None if a.no_peers else runc_once_fn()
        ours = bench_ours(root, a.n, a.count, runc_once)
        figures["pycompose"] = ours
        runc = ours["runc_alternating_running"]
        figures["runc_run_true"] = runc
        docker_ok = False
        if not a.no_peers:
            docker_ok, docker_started = docker_up()
            docker_ok = docker_ok and docker_image()
        figures["docker_run_rm_true"] = bench_docker_run(a.n) if docker_ok else None
        dmem = peer_mem("docker", a.count) if docker_ok else None
        pmem = None if a.no_peers else peer_mem("podman", a.count)

        print("\none container")
        print(f"  pycompose create+start until running (api, no network) {med(ours['api_create_start_running'])}")
        print(f"    of which create (record, checks, event)              {med(ours['api_create_only'])}")
        print(f"    of which start (supervisor: spec, cgroup, fork, exec)  {med(ours['api_start_only'])}")
        no_runc = "not measured (--no-peers)" if a.no_peers else "runc not installed"
        ph = ours.get("start_phases_ms") or {}
        if ph:
            print("    supervisor start op, median ms per phase: " +
                  " ".join(f"{k} {statistics.median(v):.1f}" for k, v in ph.items()))
        print(f"  runc run /bin/true, alternating with the above         {med(runc) if runc else no_runc}")
        print(f"  pycompose create+start until running (api, bridge)     {med(ours['api_create_start_running_bridge'])}")
        print(f"  pycompose create+start+exit `true` (api)               {med(ours['api_create_start_exit_true'])}")
        runc2 = ours["runc_alternating_exit"]
        print(f"  runc run /bin/true, alternating with the above         {med(runc2) if runc2 else no_runc}")
        if runc and runc2:
            r1 = statistics.median(ours["api_create_start_running"]) / statistics.median(runc)
            r2 = statistics.median(ours["api_create_start_exit_true"]) / statistics.median(runc2)
            print(f"  ratio until-running / runc run: {r1:.2f}x   start-to-exit / runc run: {r2:.2f}x  (target <= 1.0x)")
        print(f"  pycompose container run --rm busybox true (CLI)        {med(ours['cli_run_rm_true'])}")
        print(f"    (pycompose --version, the interpreter's start-up:    {med(ours['cli_version'])})")
        dr = figures["docker_run_rm_true"]
        print(f"  docker run --rm busybox true                           {med(dr) if dr else 'docker not available'}")
        if dr:
            print(f"  ratio pycompose CLI / docker: "
                  f"{statistics.median(ours['cli_run_rm_true']) / statistics.median(dr):.2f}x")

        print(f"\n{a.count} containers")
        print(f"  pycompose create+start {a.count} (sequential, api, bridge): {ours['start_many_s']:.2f} s; "
              f"remove -f all: {ours['remove_many_s']:.2f} s")
        if dmem:
            print(f"  docker run -d x{a.count}: {dmem['start_many_s']:.2f} s")
        if pmem:
            print(f"  podman run -d x{a.count}: {pmem['start_many_s']:.2f} s")
        print(f"\nengine memory with {a.count} idle containers (PSS of the engine's own processes)")
        print(f"  pycompose: {ours['engine_pss_mib']:.1f} MiB in {ours['engine_processes']} process(es) "
              f"(target <= 25 MiB)")
        for line in ours["engine_process_list"]:
            print(f"    {line}")
        for kind, m in (("docker", dmem), ("podman", pmem)):
            if m is None:
                print(f"  {kind}: not available")
                continue
            tot = mem_total(m["mem_report"], kind)
            figures[f"{kind}_mem"] = m["mem_report"]
            if tot is None:
                print(f"  {kind}: mem.py gave no figures")
                continue
            ratio = f", pycompose/{kind} {ours['engine_pss_mib'] / tot[0]:.2f}x" if tot[0] else ""
            print(f"  {kind}: {tot[0]:.1f} MiB ({tot[1]}){ratio}")
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps({"bench": "engine", "time": time.time(), **figures}, default=str) + "\n")
    finally:
        try:
            from engine.api import Engine

            Engine(str(root)).shutdown()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(root, ignore_errors=True)
        if docker_started:
            run_quiet(["bash", str(PEERS / "daemons.sh"), "stop-docker"], timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
