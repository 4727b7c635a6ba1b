#!/usr/bin/env python3
"""Whole-process CLI timings with a per-phase profile, beside podman, docker and runc in the same run.

    python3 bench/cli.py [-n 11] [--no-peers]

Rows (median and min wall time of -n runs, runs of the tools alternating so a busy machine's
drift hits them alike; median CPU time, user+sys of the process and its children, which a
loaded 2-core machine disturbs far less than wall time):

* ``pycompose --version``; ``pycompose ps`` with 10 services up (gen-compose.py indep 10);
* ``pycompose container run --rm --network none busybox true`` beside
  ``podman run --rm --network none busybox true`` (in the peers-podman netns),
  ``docker run --rm --network none busybox true`` and ``runc run`` of the same rootfs.

The profile (where a run goes, phase by phase):

* interpreter alone (``python -S -c pass``) and each ``.pth`` file ``site`` executes at start
  (timed one by one: some come from this machine, not from pycompose);
* the imports of each command (``-X importtime``: top-level modules after ``site``, the largest named);
* in-process phases of ``ps`` (project files, engine open, container list, render) and of
  ``run --rm`` (flags, image check, create, start, wait for exit + output, remove), timed by
  wrapping those functions in a driver process;
* the supervisor's own phases of each start and exit (``PYCOMPOSE_SUPERVISOR_PHASES``).

Two installs, both measured in the same run: the user install (the wheel with its dependencies in
a venv under /tmp, ``bench/_userinstall.py``, kept between runs keyed by the wheel's hash; the
targets are judged on it) and ``[checkout]`` (this tree through the editable install, with the
machine's own ``.pth`` files). Both with bytecode present (compiled first, PYTHONDONTWRITEBYTECODE
unset) and the interpreter called directly (never the pyenv shim); the profile is the user install's.
"""
from __future__ import annotations

import argparse
import importlib.util
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
PY = os.path.realpath(sys.executable)
SHARED = Path("/work/shared/peers")
PODMAN = ["nsenter", "--net=/run/netns/peers-podman", "podman"]

_spec = importlib.util.spec_from_file_location("bench_engine", REPO / "bench" / "engine.py")
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)  # its peer helpers (docker_up, runc_once_fn, ...)


def run_once(cmd: list[str], env: dict, cwd: str | None = None) -> tuple[float, float, int]:
    """(wall s, cpu s of the process and its children, exit status) of one whole process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def alternate(cmds: dict[str, tuple[list[str], dict, str | None]], n: int) -> dict[str, dict]:
    """Each command ``n`` times (after one warm-up), round robin; median/min wall, median cpu."""
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    fails: dict[str, int] = {k: 0 for k in cmds}
    for i in range(n + 1):
        for name, (cmd, env, cwd) in cmds.items():
            w, c, rc = run_once(cmd, env, cwd)
            if rc != 0:
                fails[name] += 1
            if i:
                walls[name].append(w)
                cpus[name].append(c)
    return {k: {"wall": statistics.median(walls[k]), "min": min(walls[k]), "cpu": statistics.median(cpus[k]),
                "fails": fails[k]} for k in cmds}


def row(label: str, r: dict, base: dict | None = None) -> str:
    ratio = ""
    if base is not None and r["wall"]:
        ratio = f"  {base['wall'] / r['wall']:5.2f}x  (cpu {base['cpu'] / r['cpu']:.2f}x)" if r["cpu"] else \
            f"  {base['wall'] / r['wall']:5.2f}x"
    fail = f"  ! {r['fails']} failed" if r["fails"] else ""
    return (f"  {label:<58} {r['wall'] * 1000:7.1f} {r['min'] * 1000:7.1f} {r['cpu'] * 1000:7.1f}{ratio}{fail}")


# ---------------------------------------------------------------------------- profile pieces


def site_costs(env: dict, n: int) -> list[tuple[str, float]]:
    """CPU ms each .pth file in site-packages costs at interpreter start (run alone under -S)."""
    import site

    out = []
    for sp in site.getsitepackages():
        for pth in sorted(Path(sp).glob("*.pth")):
            code = "\n".join(ln for ln in pth.read_text().splitlines() if ln.startswith(("import ", "import\t")))
            if not code:
                continue
            script = f"import sys\nsys.path.append({sp!r})\n{code}\n"
            cpus = [run_once([PY, "-S", "-c", script], env)[1] for _ in range(n)]
            out.append((pth.name, statistics.median(cpus) * 1000))
    return out


def import_profile(cmd: list[str], env: dict, cwd: str | None, top: int = 6,
                   runs: int = 3, python: str = PY) -> tuple[float, list[tuple[str, float]]]:
    """(ms of the imports after site, the largest top-level ones) from ``-X importtime``: each
    module's least time over ``runs`` runs (one run on a busy machine says little)."""
    best: dict[str, float] = {}
    for _ in range(runs):
        r = subprocess.run([python, "-X", "importtime", *cmd], env=env, cwd=cwd, capture_output=True, text=True)
        after_site = False
        for line in r.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cumulative, name = line[len("import time:"):].split("|")
            if name.strip() == "site" and not name.startswith("  "):
                after_site = True
                continue
            if after_site and not name.startswith("  ") and cumulative.strip().isdigit():
                ms = int(cumulative) / 1000
                best[name.strip()] = min(ms, best.get(name.strip(), ms))
    mods = list(best.items())
    return sum(ms for _, ms in mods), sorted(mods, key=lambda m: -m[1])[:top]


DRIVER = r'''
import gc, json, os, sys, time
T0 = time.perf_counter()
gc.disable()  # as compose.cli.main:entry does for the start-up (it is turned on when the command runs)
marks = {}
def wrap(obj, attr, label):
    orig = getattr(obj, attr)
    def timed(*a, **kw):
        t = time.perf_counter()
        try:
            res = orig(*a, **kw)
            if hasattr(res, "__next__"):  # a log generator: its time is in the reading
                res = list(res)
            return res
        finally:
            marks[label] = marks.get(label, 0.0) + time.perf_counter() - t
    setattr(obj, attr, timed)
import compose.cli.main as main
T1 = time.perf_counter()
KIND = sys.argv[1]
if KIND == "ps":
    import compose.cli.ps as m, compose.backend as b
    wrap(m, "open_backend", "project files + engine open")
    wrap(b.Compose, "containers", "container list (engine)")
else:
    import engine.cli.container as m, engine.cli.run_flags as rf, engine.cli.registry as reg, engine.api as api
    wrap(rf, "body_from_args", "flags -> create body")
    wrap(reg, "ensure_image", "image present")
    wrap(api.Containers, "create", "create (record)")
    wrap(api.Containers, "start", "start (supervisor)")
    wrap(api.Containers, "logs", "wait for exit + output")
    wrap(api.Containers, "wait", "wait for exit + output")  # the exit as the supervisor reports it
    wrap(api.Containers, "remove", "remove")
T2 = time.perf_counter()
sys.stdout = open(os.devnull, "w")
main._collector_held = True
code = main.main(sys.argv[2:])
T3 = time.perf_counter()
marks["import compose.cli.main"] = T1 - T0
marks["import of the command's modules"] = T2 - T1
marks["rest (argparse, render, other)"] = (T3 - T2) - sum(v for k, v in marks.items() if not k.startswith("import"))
sys.stderr.write(json.dumps({"code": code, "marks": marks}) + "\n")
'''


def driver_phases(kind: str, args: list[str], env: dict, cwd: str | None, n: int,
                  python: str = PY) -> dict[str, float]:
    """Median ms per in-process phase of ``n`` driver runs (imports the wrapped modules up front,
    so its import figures are the command's whole import cost)."""
    acc: dict[str, list[float]] = {}
    for _ in range(n):
        r = subprocess.run([python, "-c", DRIVER, kind, *args], env=env, cwd=cwd, capture_output=True, text=True)
        try:
            rec = json.loads(r.stderr.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"driver failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]: 0.0}
        for k, v in rec["marks"].items():
            acc.setdefault(k, []).append(v * 1000)
    return {k: statistics.median(v) for k, v in acc.items()}


def supervisor_phases(log: Path, offset: int) -> dict[str, dict[str, float]]:
    from engine.supervisor import phases

    with open(log, "rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    return {what: {k: statistics.median(v) for k, v in phases.parse(lines, what).items()} for what in ("start", "exit")}


# ---------------------------------------------------------------------------- main


def setup_peers(want: bool) -> tuple[dict, list[str], list[str]]:
    """Peer commands that can run now, notes, cleanup commands."""
    cmds: dict = {}
    notes, cleanup = [], []
    if not want:
        return cmds, ["peers not measured (--no-peers)"], cleanup
    env = dict(os.environ)
    if shutil.which("podman"):
        if not Path("/run/netns/peers-podman").exists():
            subprocess.run(["bash", str(SHARED / "daemons.sh"), "setup-podman"], capture_output=True)
            cleanup.append("stop-podman")
        ok = subprocess.run(PODMAN + ["image", "exists", "busybox"]).returncode == 0
        if not ok and peers.ensure_peer_images():
            ok = subprocess.run(PODMAN + ["load", "-i", str(peers.PEER_IMAGES / "busybox-docker-archive.tar")],
                                capture_output=True).returncode == 0
        if ok:
            cmds["podman run --rm --network none busybox true"] = (
                PODMAN + ["run", "--rm", "--network", "none", "busybox", "true"], env, None)
        else:
            notes.append("podman: busybox image not available; not measured")
    else:
        notes.append("podman: not installed; not measured")
    ok, started = peers.docker_up()
    if started:
        cleanup.append("stop-docker")
    if ok and peers.docker_image():
        cmds["docker run --rm --network none busybox true"] = (
            ["docker", "run", "--rm", "--network", "none", "busybox", "true"], env, None)
        cmds["docker run --rm busybox true"] = (["docker", "run", "--rm", "busybox", "true"], env, None)
    else:
        notes.append("docker: not available; not measured")
    if shutil.which("runc") and peers.ensure_peer_images():
        bundle = str(peers.PEER_IMAGES / "bundle-true")
        cmds["runc run (same busybox rootfs, /bin/true)"] = (
            ["sh", "-c", f'exec runc run -b {bundle} pyc-cli-$$'], env, None)
    else:
        notes.append("runc: not installed; not measured")
    return cmds, notes, cleanup


def pycompose_cmd() -> tuple[list[str], str]:
    """The installed script when it runs this tree with this interpreter, else ``python -m``."""
    script = Path(PY).parent / "pycompose"
    head = script.read_text(errors="replace").split("\n", 1)[0] if script.exists() else ""
    if head in (f"#!{PY}", f"#!{sys.executable}"):
        return [str(script)], f"{script} (the installed script, interpreter called directly)"
    return [PY, "-m", "compose.cli.main"], f"{PY} -m compose.cli.main"


class Installs:
    """The two ways pycompose is measured: the checkout (editable install, this interpreter with its
    site-packages and this machine's .pth files) and a user's (the wheel in a venv, see _userinstall)."""

    def __init__(self, env: dict):
        import _userinstall

        self.checkout_cmd, self.checkout_how = pycompose_cmd()
        self.checkout_env = env
        self.venv, key, reused = _userinstall.ensure_venv(REPO, PY)
        self.user_py = str(self.venv / "bin" / "python")
        self.user_cmd = [str(self.venv / "bin" / "pycompose")]
        self.user_env = _userinstall.user_env(env)
        self.user_how = (f"{self.user_cmd[0]} (the wheel with its dependencies in a venv made by `{PY} -m venv`, "
                         f"no system site-packages, bytecode compiled; key {key}, {'reused' if reused else 'new'})")


def print_runs(runs: dict[str, dict], ours: str) -> None:
    for k, r in runs.items():
        print(row(k, r))
    for k, r in runs.items():
        if not k.startswith("pycompose") and not k.startswith("[checkout]"):
            mine = runs[ours]
            print(f"  pycompose run --rm (user install) / {k}: wall {mine['wall'] / r['wall']:.2f}x, "
                  f"min {mine['min'] / r['min']:.2f}x, cpu {mine['cpu'] / max(r['cpu'], 1e-9):.2f}x")


def print_profile(base: dict, inst: Installs, ps_args: list[str], run_args: list[str], proj: Path,
                  sup: dict, n: int) -> None:
    print()
    print("# profile (ms) of the user install (the checkout's interpreter for the site lines)")
    print(f"  interpreter alone (python -S -c pass): cpu {base['python -S -c pass']['cpu'] * 1000:.1f}")
    site = base["[checkout] python -c pass"]["cpu"] - base["python -S -c pass"]["cpu"]
    print(f"  checkout interpreter: site at start: cpu {site * 1000:.1f}, of which the .pth files (each alone; "
          f"none of them is in the user's venv):")
    for name, ms in site_costs(inst.checkout_env, 5):
        print(f"    {name:<44} {ms:6.1f}  (interpreter included)")
    venv_site = base["python -c pass (user venv)"]["cpu"] - base["python -S -c pass"]["cpu"]
    print(f"  user venv: site at start: cpu {venv_site * 1000:.1f}")
    env, py, cmd = inst.user_env, inst.user_py, inst.user_cmd
    for title, args, cwd in (("--version", ["--version"], None), ("ps", ps_args, str(proj)),
                             ("container run --rm", run_args, None)):
        total, top = import_profile(cmd + args, env, cwd, python=py)
        print(f"  imports of {title}: {total:.1f} (largest: " + ", ".join(f"{m} {ms:.1f}" for m, ms in top) + ")")
    for kind, a, cwd in (("ps", ps_args, str(proj)), ("run", run_args, None)):
        ph = driver_phases(kind, a, env, cwd, max(3, n // 2), python=py)
        print(f"  in-process phases of {kind}: " + ", ".join(f"{k} {v:.1f}" for k, v in ph.items()))
    for what, ph in sup.items():
        print(f"  supervisor {what} of run --rm: " + ", ".join(f"{k} {v:.1f}" for k, v in ph.items()))


def measure(inst: Installs, peer_cmds: dict, root: str, proj: Path, n: int) -> None:
    ps_args = ["-p", "benchcli", "ps"]
    run_args = ["container", "run", "--rm", "--network", "none", "busybox", "true"]
    cenv, uenv, ccmd, ucmd = inst.checkout_env, inst.user_env, inst.checkout_cmd, inst.user_cmd
    print(f"# user install: {inst.user_how}")
    print(f"# [checkout]:   {inst.checkout_how}, PYTHONPATH={REPO}")
    print("# both: bytecode compiled first, PYTHONDONTWRITEBYTECODE unset, no pyenv shim; the targets are judged "
          "on the user install")
    print(f"# medians of {n} runs after 1 warm-up, tools alternating; ratio = pycompose / peer")
    print()
    print(f"  {'whole process':<58} {'wall ms':>7} {'min ms':>7} {'cpu ms':>7}  ratio")
    base = alternate({"python -S -c pass": ([PY, "-S", "-c", "pass"], cenv, None),
                      "[checkout] python -c pass": ([PY, "-c", "pass"], cenv, None),
                      "python -c pass (user venv)": ([inst.user_py, "-c", "pass"], uenv, None),
                      "pycompose --version": (ucmd + ["--version"], uenv, None),
                      "[checkout] pycompose --version": (ccmd + ["--version"], cenv, None),
                      "pycompose ps (10 services up)": (ucmd + ps_args, uenv, str(proj)),
                      "[checkout] pycompose ps (10 services up)": (ccmd + ps_args, cenv, str(proj))}, n)
    for k, r in base.items():
        print(row(k, r))
    log = Path(root) / "run" / "supervisor.log"
    offset = log.stat().st_size
    ours = "pycompose container run --rm --network none busybox true"
    runs = alternate({ours: (ucmd + run_args, uenv, None),
                      "[checkout] pycompose container run --rm --network none": (ccmd + run_args, cenv, None),
                      **peer_cmds}, n)
    print_runs(runs, ours)
    print_profile(base, inst, ps_args, run_args, proj, supervisor_phases(log, offset), n)


def teardown(pyc: list[str], env: dict, proj: Path, cleanup: list[str], dirs: list[str]) -> None:
    """``down`` of the ps project, the peers' daemons this run started, our supervisor, the temp dirs."""
    subprocess.run(pyc + ["-p", "benchcli", "--progress", "quiet", "down", "-t", "1"], env=env, cwd=proj,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for c in cleanup:
        subprocess.run(["bash", str(SHARED / "daemons.sh"), c], capture_output=True, timeout=120)
    sys.path.insert(0, str(REPO))
    from engine.api import Engine

    Engine(env["PYCOMPOSE_ROOT"]).shutdown()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=11)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    if "shims" in sys.executable:
        print("run with the real interpreter, not the pyenv shim", file=sys.stderr)
        return 2
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "compose"), str(REPO / "engine")],
                   stdout=subprocess.DEVNULL)
    root = tempfile.mkdtemp(prefix="pyc-bench-cli-")
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-cli-files-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYCOMPOSE_ROOT=root, PYCOMPOSE_SUPERVISOR_PHASES="1")
    env["PYTHONPATH"] = str(REPO)
    inst = Installs(env)
    subprocess.run([str(REPO / "scripts" / "make-test-image")], env=env, check=True, stdout=subprocess.DEVNULL)
    peer_cmds, notes, cleanup = setup_peers(not args.no_peers)
    proj = work / "p10"
    proj.mkdir()
    subprocess.run([PY, str(SHARED / "gen-compose.py"), "indep", "10", "-o", str(proj / "compose.yaml")], check=True)
    try:
        subprocess.run(inst.user_cmd + ["-p", "benchcli", "--progress", "quiet", "up", "-d"], env=inst.user_env,
                       cwd=proj, check=True)
        print(f"# bench/cli.py  {datetime.now().isoformat(timespec='seconds')}  ({os.cpu_count()} cores, "
              f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
        for note in notes:
            print(f"# peer: {note}")
        measure(inst, peer_cmds, root, proj, args.n)
        print(f"# load at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        teardown(inst.checkout_cmd, env, proj, cleanup, [root, str(work)])
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
