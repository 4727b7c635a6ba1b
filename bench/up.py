#!/usr/bin/env python3
"""`up -d` / `down` wall times for 1, 10 and 50 services, beside Docker Compose and podman-compose.

What it prints (medians of --repeat runs, whole-process wall time):

* for each shape (indep, chain, healthy: ../shared/peers/gen-compose.py) and size (1, 10, 50):
  `up -d` and `down -t 1` for pycompose, Docker Compose v2 and podman-compose, measured in
  the same run when they are installed (and said so when not), with pycompose/peer ratios;
* the healthy-gated chain (healthy-chain) once per healthcheck interval of --intervals, with its
  floor N x interval beside it (Docker runs a container's first probe one interval after its start);
* for a healthy-gated chain (healthy-chain 5): the delay between a dependency turning healthy
  (end of its first passing health check) and its dependent starting, per link, for each tool
  that exposes both times (Docker Compose polls every 500 ms; pycompose waits on events);
* `pycompose ps` wall time with 10 services up;
* with --profile, where pycompose's `up -d` spends its time per phase (bench/up_profile.py).

Peers: Docker needs dockerd (started with ../shared/peers/daemons.sh start-docker when not
running, and stopped again at the end if this script started it); podman-compose runs in the
peers-podman netns (daemons.sh setup-podman). Both need busybox:latest (make-busybox.sh).

    python3 bench/up.py [--sizes 1,10,50] [--shapes indep,chain,healthy,healthy-chain] [--repeat 3]
                        [--chain-sizes 10] [--intervals 1s,200ms] [--no-peers] [--profile]
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
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "peers"
if not SHARED.exists():
    SHARED = Path("/work/shared/peers")
PY = sys.executable


def sh(cmd: list[str] | str, env: dict | None = None, check: bool = False, timeout: float = 600,
       cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, shell=isinstance(cmd, str), env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=check)


CPU: list[float] = []  # CPU seconds (user+sys) of the command each ``timed`` ran, its reaped children included


def timed(cmd: list[str], env: dict | None = None, cwd: str | None = None,
          timeout: float = 900) -> tuple[float, int, str]:
    """Wall time of one run; a run over ``timeout`` is killed and reported as rc 124."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.monotonic() - t0, 124, f"timed out after {timeout:g}s"
    finally:
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return time.monotonic() - t0, r.returncode, (r.stderr or "")[-400:]


# ------------------------------------------------------------------ the tools

class Tool:
    name = ""

    def up(self, d: Path, project: str) -> list[str]:
        raise NotImplementedError

    def down(self, d: Path, project: str) -> list[str]:
        raise NotImplementedError

    env: dict | None = None


class Pycompose(Tool):
    name = "pycompose"

    def __init__(self, root: str):
        self.env = dict(os.environ, PYCOMPOSE_ROOT=root, PYTHONPATH=str(REPO))
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured with bytecode present
        self.base = [PY, "-m", "compose.cli.main"]

    def up(self, d, project):
        return self.base + ["-p", project, "--progress", "quiet", "up", "-d"]

    def down(self, d, project):
        return self.base + ["-p", project, "--progress", "quiet", "down", "-t", "1"]

    def ps(self, d, project):
        return self.base + ["-p", project, "ps"]

    def inspect(self, name: str) -> dict:
        from engine.api import Engine

        return Engine(self.env["PYCOMPOSE_ROOT"]).containers.inspect(name)

    def events(self, since: float, until: float) -> list[dict]:
        from engine.api import Engine

        return list(Engine(self.env["PYCOMPOSE_ROOT"]).events(filters={"type": ["container"]}, since=since,
                                                              until=until))


class DockerCompose(Tool):
    name = "docker compose"

    def up(self, d, project):
        return ["docker", "compose", "-p", project, "--progress", "quiet", "up", "-d"]

    def down(self, d, project):
        return ["docker", "compose", "-p", project, "--progress", "quiet", "down", "-t", "1"]

    def inspect(self, name: str) -> dict:
        return json.loads(sh(["docker", "inspect", name], check=True).stdout)[0]

    def events(self, since: float, until: float) -> list[dict]:
        out = sh(["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--filter",
                  "type=container", "--format", "{{json .}}"]).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


class PodmanCompose(Tool):
    name = "podman-compose"
    NS = ["nsenter", "--net=/run/netns/peers-podman"]

    def up(self, d, project):
        return self.NS + ["podman-compose", "-p", project, "up", "-d"]

    def down(self, d, project):
        return self.NS + ["podman-compose", "-p", project, "down", "-t", "1"]


# ------------------------------------------------------------------ peers setup

def setup_peers(want: bool, which: set[str] | None = None) -> tuple[list[Tool], list[str], list[str]]:
    """The peers that can run now, notes for the report, and cleanup commands."""
    tools: list[Tool] = []
    notes, cleanup = [], []
    if not want:
        notes.append("peers not measured (--no-peers)")
        return tools, notes, cleanup
    which = which or {"docker", "podman"}
    daemons = SHARED / "daemons.sh"
    if "docker" not in which:
        notes.append("Docker Compose: left out (--peers)")
    elif shutil.which("docker") and sh(["docker", "compose", "version"]).returncode == 0:
        if sh(["docker", "info"]).returncode != 0 and daemons.exists():
            if sh(["bash", str(daemons), "start-docker"], timeout=120).returncode == 0:
                cleanup.append(f"bash {daemons} stop-docker")
        if sh(["docker", "info"]).returncode == 0:
            if sh(["docker", "image", "inspect", "busybox:latest"]).returncode != 0:
                sh(["bash", str(SHARED / "make-busybox.sh")], env=dict(os.environ, IMG_DIR="/tmp/peer-images"),
                   timeout=600)
            if sh(["docker", "image", "inspect", "busybox:latest"]).returncode == 0:
                tools.append(DockerCompose())
                v = sh(["docker", "compose", "version", "--short"]).stdout.strip()
                notes.append(f"Docker Compose {v} + dockerd {sh(['docker', 'version', '-f', '{{.Server.Version}}']).stdout.strip()}")
            else:
                notes.append("Docker Compose: busybox:latest could not be imported into docker; not measured")
        else:
            notes.append("Docker Compose: dockerd would not start; not measured")
    else:
        notes.append("Docker Compose: not installed (bash ../shared/peers/install.sh); not measured")
    if "podman" not in which:
        notes.append("podman-compose: left out (--peers)")
    elif shutil.which("podman-compose") and shutil.which("podman"):
        if not Path("/run/netns/peers-podman").exists():
            sh(["bash", str(daemons), "setup-podman"])
            cleanup.append(f"bash {daemons} stop-podman")
        ok = sh(PodmanCompose.NS + ["podman", "image", "exists", "busybox:latest"]).returncode == 0
        if not ok:
            sh(["bash", str(SHARED / "make-busybox.sh")], env=dict(os.environ, IMG_DIR="/tmp/peer-images"), timeout=600)
            ok = sh(PodmanCompose.NS + ["podman", "image", "exists", "busybox:latest"]).returncode == 0
        if ok:
            tools.append(PodmanCompose())
            notes.append("podman-compose " + sh(["podman-compose", "version"]).stdout.strip().splitlines()[-1:][0]
                         if sh(["podman-compose", "version"]).returncode == 0 else "podman-compose")
        else:
            notes.append("podman-compose: busybox:latest not available to podman; not measured")
    else:
        notes.append("podman-compose: not installed; not measured")
    return tools, notes, cleanup


# ------------------------------------------------------------------ measurements

def gen(shape: str, n: int, d: Path, interval: str | None = None) -> None:
    d.mkdir(parents=True, exist_ok=True)
    extra = ["--interval", interval] if interval else []
    sh([PY, str(SHARED / "gen-compose.py"), shape, str(n), "-o", str(d / "compose.yaml"), *extra], check=True)


def seconds(duration: str) -> float:
    """``200ms``/``1s``/``1.5s`` -> seconds (the healthcheck intervals given to gen-compose.py)."""
    for unit, scale in (("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if duration.endswith(unit):
            return float(duration[:-len(unit)]) * scale
    return float(duration)


def cases(shapes: list[str], sizes: list[int], intervals: list[str],
          chain_sizes: list[int]) -> list[tuple[str, int, str | None]]:
    """(shape, size, healthcheck interval) to measure: a healthy-gated chain (its own sizes) once
    per interval, since its floor is N x interval for any tool keeping Docker's first-probe timing."""
    out: list[tuple[str, int, str | None]] = []
    for shape in shapes:
        if shape == "healthy-chain":
            out += [(shape, n, iv) for n in chain_sizes for iv in intervals]
        else:
            out += [(shape, n, None) for n in sizes]
    return out


def kernel_objects(root: str, project: str) -> set[str]:
    """What one pycompose project holds: its containers, their cgroups, host veths and bridges
    (read from the data root's records), each as ``kind name``."""
    out: set[str] = set()
    rootp = Path(root)
    for cfg in rootp.glob("containers/*/config.json"):
        try:
            rec = json.loads(cfg.read_text())
        except (OSError, ValueError):
            continue
        if ((rec.get("Config") or {}).get("Labels") or {}).get("com.docker.compose.project") != project:
            continue
        out.add(f"container {rec['Id'][:12]}")
        for cg in Path("/sys/fs/cgroup").glob(f"*/pycompose/{rec['Id']}"):
            out.add(f"cgroup {cg}")
        for cg in Path("/sys/fs/cgroup").glob(f"pycompose/{rec['Id']}"):
            out.add(f"cgroup {cg}")
    for ep in rootp.glob("networks/endpoints/*.json"):
        try:
            nets = json.loads(ep.read_text()).get("Networks") or []
        except (OSError, ValueError):
            continue
        out |= {f"endpoint record {ep.stem[:12]} (veth {e['HostVeth']})" for e in nets if e.get("HostVeth")}
    for net in rootp.glob("networks/*.json"):
        try:
            rec = json.loads(net.read_text())
        except (OSError, ValueError):
            continue
        if (rec.get("Labels") or {}).get("com.docker.compose.project") == project:
            out.add(f"network {rec.get('Name')}")
            br = (rec.get("_pycompose") or {}).get("bridge")
            if br and Path(f"/sys/class/net/{br}").exists():
                out.add(f"bridge {br}")
    return out


def veths_of(root: str) -> set[str]:
    """Host veth names the root's endpoint records name (to check the kernel after a down)."""
    names = set()
    for ep in Path(root).glob("networks/endpoints/*.json"):
        try:
            names |= {e["HostVeth"] for e in json.loads(ep.read_text()).get("Networks") or [] if e.get("HostVeth")}
        except (OSError, ValueError, KeyError):
            pass
    return names


def measure_cycle(tool: Tool, d: Path, project: str, repeat: int, timeout: float, warmup: int = 1) -> dict:
    """Median up/down after ``warmup`` untimed cycles (a fresh data root's first start, cold page
    cache); after a timed-out run the tool is not run again at this size."""
    for _ in range(warmup):
        rc = timed(tool.up(d, project), env=tool.env, cwd=str(d), timeout=timeout)[1]
        timed(tool.down(d, project), env=tool.env, cwd=str(d), timeout=max(timeout, 300))
        if rc == 124:
            return {"up": timeout, "down": 0.0, "fails": [f"up rc=124: warm-up timed out after {timeout:g}s"],
                    "timeout": True}
    ups, downs, fails, cpus = [], [], [], []
    for _ in range(repeat):
        t, rc, err = timed(tool.up(d, project), env=tool.env, cwd=str(d), timeout=timeout)
        cpus.append(CPU[-1])
        if rc != 0:
            fails.append(f"up rc={rc}: {err.strip().splitlines()[-1] if err.strip() else ''}")
        ups.append(t)
        root = (tool.env or {}).get("PYCOMPOSE_ROOT") if isinstance(tool, Pycompose) else None
        veths = veths_of(root) if root else set()
        t2, rc2, err2 = timed(tool.down(d, project), env=tool.env, cwd=str(d), timeout=max(timeout, 300))
        if rc2 != 0:
            fails.append(f"down rc={rc2}: {err2.strip().splitlines()[-1] if err2.strip() else ''}")
        downs.append(t2)
        if root:  # checked at once, before anything else runs: down must leave nothing behind
            left = kernel_objects(root, project) | {f"veth {v}" for v in veths if Path(f"/sys/class/net/{v}").exists()}
            if left:
                fails.append(f"left behind after down: {', '.join(sorted(left)[:6])}")
        if rc == 124:
            break
    return {"up": statistics.median(ups), "down": statistics.median(downs), "fails": fails,
            "cpu": statistics.median(cpus),
            "timeout": any(f.startswith("up rc=124") for f in fails)}


def health_delays(tool: Tool, d: Path, project: str, n: int) -> list[float]:
    """Per link, in ms: s(i-1)'s first ``health_status: healthy`` event -> s(i)'s ``start`` event, from
    the engine's own event stream (a container's health log keeps only its last 5 probes)."""
    since = time.time()
    timed(tool.up(d, project), env=tool.env, cwd=str(d))  # returns once the last service has started
    first: dict[tuple[str, str], int] = {}
    for ev in tool.events(since, time.time() + 0.5):
        name = ((ev.get("Actor") or {}).get("Attributes") or {}).get("name", "").lstrip("/")
        action = ev.get("Action") or ev.get("status") or ""
        if action in ("start", "health_status: healthy"):
            first.setdefault((name, action), int(ev.get("timeNano") or 0))
    names = [f"{project}-s{i:03d}-1" for i in range(n)]
    delays = []
    for prev, cur in zip(names, names[1:]):
        healthy, started = first.get((prev, "health_status: healthy")), first.get((cur, "start"))
        if healthy and started:
            delays.append((started - healthy) / 1e6)
    timed(tool.down(d, project), env=tool.env, cwd=str(d))
    return delays


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--shapes", default="indep,chain,healthy,healthy-chain")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peers", default="docker,podman", help="which peers to measure (docker, podman)")
    ap.add_argument("--timeout", type=float, default=180, help="seconds before one `up -d` run is given up")
    ap.add_argument("--warmup", type=int, default=1, help="untimed up/down cycles before the timed ones")
    ap.add_argument("--root", default=None, help="pycompose data root (default: a fresh one under /tmp)")
    ap.add_argument("--intervals", default="1s,200ms",
                    help="healthcheck intervals of the healthy-chain shape, one row each (gen-compose.py --interval)")
    ap.add_argument("--chain-sizes", default="10", help="sizes of the healthy-chain shape (--sizes is for the others)")
    ap.add_argument("--profile", action="store_true",
                    help="then print where `up -d` spends its time per phase (bench/up_profile.py)")
    args = ap.parse_args()

    root = args.root or tempfile.mkdtemp(prefix="pyc-bench-")
    env = dict(os.environ, PYCOMPOSE_ROOT=root)
    subprocess.run([str(REPO / "scripts" / "make-test-image")], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "compose"), str(REPO / "engine")],
                   stdout=subprocess.DEVNULL)  # bytecode present, as an installed package has it
    py = Pycompose(root)
    peers, notes, cleanup = setup_peers(not args.no_peers, set(args.peers.split(",")))
    tools: list[Tool] = [py] + peers
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-files-"))
    print(f"# bench/up.py  {datetime.now().isoformat(timespec='seconds')}  ({os.cpu_count()} cores)")
    for n in notes:
        print(f"# peer: {n}")
    with open("/proc/loadavg") as f:
        print(f"# load average at the start: {' '.join(f.read().split()[:3])}; up CPU = user+sys of the CLI "
              f"process only (engines' daemons not counted)")
    print(f"# medians of {args.repeat} runs after {args.warmup} warm-up; down uses -t 1; "
          f"workload: gen-compose.py default (sleep-trap)")
    print(f"# pycompose: {PY} -m compose.cli.main (interpreter called directly"
          f"{', NOT the pyenv shim' if 'shims' not in PY else ' through the pyenv shim'}), bytecode present; "
          f"after each pycompose down its containers, cgroups, veths, bridges and networks are checked gone")
    print()
    print("# healthy-chain: every link waits for its dependency's first passing probe, which Docker runs one "
          "interval after the start: the floor is N x interval; rows per --intervals")
    header = (f"{'shape':<20} {'N':>3}  {'tool':<15} {'up -d':>8} {'down':>8}   {'up ratio':>9} {'down ratio':>10}"
              f"   {'floor':>6}  {'up CPU (CLI)':>12}")
    print(header)
    print("-" * len(header))
    try:
        sizes = [int(x) for x in args.sizes.split(",")]
        chain_sizes = [int(x) for x in args.chain_sizes.split(",")]
        for shape, n, interval in cases(args.shapes.split(","), sizes, args.intervals.split(","), chain_sizes):
            label = f"{shape}@{interval}" if interval else shape
            d = work / f"{shape}-{n}-{interval or ''}"
            gen(shape, n, d, interval)
            floor = f"{n * seconds(interval):>5.2f}s" if interval else ""
            results = {}
            for tool in tools:
                project = f"bench{shape.replace('-', '')}{n}"
                results[tool.name] = measure_cycle(tool, d, project, args.repeat, args.timeout, args.warmup)
            base = results["pycompose"]
            for tool in tools:
                r = results[tool.name]
                ratio = f"{'':>9} {'':>10}"
                if tool is not py and r["up"] and r["down"] and not r["timeout"]:
                    ratio = f"{base['up'] / r['up']:>8.2f}x {base['down'] / r['down']:>9.2f}x"
                up_text = f">{args.timeout:.0f}s" if r["timeout"] else f"{r['up']:.2f}s"
                print(f"{label:<20} {n:>3}  {tool.name:<15} {up_text:>8} {r['down']:>7.2f}s   {ratio}   "
                      f"{floor:>6}  {r.get('cpu', 0.0):>11.2f}s")
                for f in r["fails"][:2]:
                    print(f"{'':<24}  ! {f}")
            sys.stdout.flush()
        print()
        interval = args.intervals.split(",")[-1]
        d = work / "healthy-chain-5"
        gen("healthy-chain", 5, d, interval)
        print(f"# healthy-chain 5 with interval {interval}:")
        for tool in [t for t in tools if hasattr(t, "events")]:
            delays = health_delays(tool, d, "benchhc", 5)
            if delays:
                print(f"healthy -> dependent started ({tool.name}): median {statistics.median(delays):.1f} ms, "
                      f"max {max(delays):.1f} ms over {len(delays)} links")
            else:
                print(f"healthy -> dependent started ({tool.name}): no timestamps")
        print()
        d = work / "indep-10"
        if not (d / "compose.yaml").exists():
            gen("indep", 10, d)
        timed(py.up(d, "benchps"), env=py.env, cwd=str(d))
        ps_times = [timed(py.ps(d, "benchps"), env=py.env, cwd=str(d))[0] for _ in range(7)]
        base_times = [timed([PY, "-c", "pass"])[0] for _ in range(7)]
        print(f"pycompose ps (10 services up): median {statistics.median(ps_times) * 1000:.0f} ms "
              f"(bare `{Path(PY).name} -c pass`: {statistics.median(base_times) * 1000:.0f} ms)")
        timed(py.down(d, "benchps"), env=py.env, cwd=str(d))
        if args.profile:
            print()
            sys.stdout.flush()
            subprocess.run([PY, str(REPO / "bench" / "up_profile.py"), "--sizes", args.sizes,
                            "--interval", args.intervals.split(",")[-1]])
    finally:
        for c in cleanup:
            sh(c, timeout=120)
        try:
            from engine.api import Engine

            Engine(root).shutdown()
        except Exception:  # noqa: BLE001 - best effort
            pass
        if not args.root:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
