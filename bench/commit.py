#!/usr/bin/env python3
"""``container diff`` and ``container commit`` beside ``docker diff`` / ``docker commit``, in the same run.

  python3 bench/commit.py [-n 5] [--files 2000] [--mb 20] [--no-peers]

One busybox container per engine writes ``--files`` small files and one ``--mb`` MB file,
then (whole CLI processes, medians of -n runs, runs alternating ours/docker's so the drift
of a shared machine cancels out):

* ``diff`` of that container;
* ``commit`` of it (a new image each time; removed at the end), ``--pause`` default (true).

Docker is used when its daemon answers (``bash ../shared/peers/daemons.sh start-docker``
starts one; this script starts it when missing and stops it again only if it did). Its
busybox comes from scripts/make-test-image's archive (``docker load``). Everything this
script creates (data root, containers, images) is removed at the end.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS = Path("/work/shared/peers")
ARCHIVE = "/tmp/pycompose-busybox.tar"


def sh(cmd: list[str], env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def fmt(xs: list[float]) -> str:
    return f"{med(xs) * 1000:7.0f} ms ({min(xs) * 1000:.0f}..{max(xs) * 1000:.0f})" if xs else "n/a"


class Engine:
    """One CLI (ours or docker's): a container with changes, then timed diff / commit."""

    def __init__(self, name: str, argv: list[str], env=None):
        self.name, self.argv, self.env = name, argv, env
        self.images: list[str] = []
        self.cid = ""

    def cli(self, *args: str, check=True) -> subprocess.CompletedProcess:
        return sh(self.argv + list(args), env=self.env, check=check)

    def prepare(self, files: int, mb: int) -> None:
        script = (f"mkdir /data && i=0; while [ $i -lt {files} ]; do echo $i > /data/f$i; i=$((i+1)); done; "
                  f"dd if=/dev/zero of=/big bs=1M count={mb} 2>/dev/null; rm /etc/group; touch /ready; sleep 100000")
        self.cid = self.cli("run", "-d", "--network", "none", "busybox", "sh", "-c", script).stdout.strip()
        while self.cli("exec", self.cid, "test", "-e", "/ready", check=False).returncode != 0:
            time.sleep(0.2)

    def diff(self) -> int:
        return len(self.cli("diff", self.cid).stdout.splitlines())

    def commit(self) -> None:
        self.images.append(self.cli("commit", self.cid).stdout.strip())

    def cleanup(self) -> None:
        if self.cid:
            self.cli("rm", "-f", self.cid, check=False)
        for i in self.images:
            self.cli("rmi", "-f", i, check=False) if self.name == "docker" else self.cli("image", "rm", "-f", i,
                                                                                          check=False)


def docker_up() -> tuple[bool, bool]:
    if not shutil.which("docker"):
        return False, False
    if sh(["docker", "info"], check=False, timeout=30).returncode == 0:
        return True, False
    if not (PEERS / "daemons.sh").exists():
        return False, False
    sh(["bash", str(PEERS / "daemons.sh"), "start-docker"], check=False, timeout=180)
    ok = sh(["docker", "info"], check=False, timeout=30).returncode == 0
    return ok, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pyc-bench-commit-", dir="/tmp"))
    env = dict(__import__("os").environ, PYCOMPOSE_ROOT=str(root))
    sh([str(REPO / "scripts" / "make-test-image"), "--output", ARCHIVE], env=env)
    ours = Engine("pycompose", [sys.executable, "-m", "compose.cli.main", "container"], env)
    engines = [ours]
    started = False
    if not args.no_peers:
        ok, started = docker_up()
        if ok and sh(["docker", "image", "inspect", "busybox"], check=False).returncode != 0:
            ok = sh(["docker", "load", "-i", ARCHIVE], check=False).returncode == 0
        engines.append(Engine("docker", ["docker"]) if ok else None)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        live = [e for e in engines if e is not None]
        for e in live:
            e.prepare(args.files, args.mb)
            results[e.name] = {"diff": [], "commit": []}
        lines = {e.name: e.diff() for e in live}
        for _ in range(args.n):
            for e in live:
                for what, fn in (("diff", e.diff), ("commit", e.commit)):
                    t0 = time.perf_counter()
                    fn()
                    results[e.name][what].append(time.perf_counter() - t0)
    finally:
        for e in engines:
            if e is not None:
                e.cleanup()
        if started:
            sh(["bash", str(PEERS / "daemons.sh"), "stop-docker"], check=False)
        sh([sys.executable, "-c", "from engine.api import Engine; import os; Engine(os.environ['PYCOMPOSE_ROOT'])"
            ".shutdown()"], env=dict(env, PYTHONPATH=str(REPO)), check=False)
        shutil.rmtree(root, ignore_errors=True)
    print(f"container with {args.files} new files + {args.mb} MB, n={args.n}, whole CLI processes (medians)")
    for what in ("diff", "commit"):
        row = [f"{what:7}"]
        for name in results:
            row.append(f"{name}: {fmt(results[name][what])}")
        if "docker" in results:
            row.append(f"ratio {med(results['pycompose'][what]) / med(results['docker'][what]):.2f}x")
        print("   ".join(row))
    print("diff lines: " + ", ".join(f"{k} {v}" for k, v in lines.items()))
    if "docker" not in results and not args.no_peers:
        print("docker: not measured (no dockerd answering)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
