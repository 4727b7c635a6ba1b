#!/usr/bin/env python3
"""Benchmark: `pycompose config --format json` beside `docker compose config` (v2.40.3).

Measures, in the same run and alternating A B A B so machine drift cancels:
  * a generated 500-service file (../shared/peers/gen-compose.py config 500);
  * the oracle corpus: every valid case once per round (total wall time of a round);
  * `pycompose --version` (start-up budget: < 100 ms).
Prints medians, min..max and the pycompose/docker ratio (target <= 1.0). When the
docker compose binary is not installed it says so and prints pycompose's figures alone.

    python3 bench/config.py [-n 5] [--services 500] [--no-corpus]
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _alternate import alternate, parser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
CORPUS = os.path.join(SHARED, "oracle", "corpus")


def pycompose_cmd() -> list[str]:
    exe = shutil.which("pycompose")
    if exe:
        # the pyenv shim adds a bash + pyenv exec hop; time the real entry point
        real = subprocess.run(["pyenv", "which", "pycompose"], capture_output=True, text=True) \
            if "/shims/" in exe and shutil.which("pyenv") else None
        if real is not None and real.returncode == 0 and real.stdout.strip():
            exe = real.stdout.strip()
        return [exe]
    return [sys.executable, "-m", "compose.cli.main"]


def docker_compose_cmd() -> list[str] | None:
    for cand in (["docker-compose-v2"], ["docker", "compose"]):
        if shutil.which(cand[0]):
            try:
                p = subprocess.run(cand + ["version"], capture_output=True, text=True, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if p.returncode == 0 and "v2." in p.stdout:
                return [shutil.which(cand[0])] + cand[1:]
    return None


def timed(argv: list[str], cwd: str, env: dict) -> float:
    t0 = time.monotonic()
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}")
    return dt


def corpus_cases() -> list[dict]:
    cases = []
    if not os.path.isdir(CORPUS):
        return cases
    for source in sorted(os.listdir(CORPUS)):
        for name in sorted(os.listdir(os.path.join(CORPUS, source))):
            d = os.path.join(CORPUS, source, name)
            if os.path.exists(os.path.join(d, "expected.json")):
                with open(os.path.join(d, "cmd.json")) as fh:
                    meta = json.load(fh)
                cases.append({"dir": d, "meta": meta})
    return cases


def corpus_round(prog: list[str], cases: list[dict], tmp: str) -> float:
    total = 0.0
    for c in cases:
        meta = c["meta"]
        cwd = os.path.normpath(os.path.join(tmp, os.path.relpath(c["dir"], CORPUS), meta.get("workdir", ".")))
        env = dict(meta["env"])
        os.makedirs(env.get("HOME", "/tmp/oraclehome"), exist_ok=True)
        total += timed(prog + meta["global_args"] + ["config", "--format", "json"], cwd, env)
    return total


def fmt(vals: list[float]) -> str:
    return f"{statistics.median(vals):.3f} s (min {min(vals):.3f} .. max {max(vals):.3f}, n={len(vals)})"


def main() -> int:
    ap = parser(__doc__, rounds=5)
    ap.add_argument("--services", type=int, default=500)
    ap.add_argument("--no-corpus", action="store_true")
    args = ap.parse_args()

    ours = pycompose_cmd()
    theirs = docker_compose_cmd()
    print(f"pycompose: {' '.join(ours)}")
    print(f"docker compose: {' '.join(theirs) if theirs else 'NOT INSTALLED (run ../shared/peers/install.sh); pycompose only'}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}

    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        f = os.path.join(tmp, "compose.yaml")
        subprocess.run([sys.executable, os.path.join(SHARED, "peers", "gen-compose.py"), "config",
                        str(args.services), "-o", f], check=True)
        a_argv = ours + ["-p", "bench", "-f", f, "config", "--format", "json"]
        b_argv = (theirs + ["-p", "bench", "-f", f, "config", "--format", "json"]) if theirs else None
        timed(a_argv, tmp, env)  # warm-up (page cache, pyc)
        if b_argv:
            timed(b_argv, tmp, env)
            same = subprocess.run(a_argv, cwd=tmp, env=env, capture_output=True).stdout == \
                subprocess.run(b_argv, cwd=tmp, env=env, capture_output=True).stdout
            print(f"output identical to docker compose: {same}")
        a, b, ratios = alternate(lambda _: timed(a_argv, tmp, env),
                                 (lambda _: timed(b_argv, tmp, env)) if b_argv else None, args.n)
        print(f"\nconfig --format json, {args.services} services")
        print(f"  pycompose       {fmt(a)}")
        if b:
            print(f"  docker compose  {fmt(b)}")
            print(f"  ratio pycompose/docker (pairwise median): {statistics.median(ratios):.2f} (target <= 1.0)")

        if not args.no_corpus:
            cases = corpus_cases()
            if cases:
                work = os.path.join(tmp, "corpus")
                shutil.copytree(CORPUS, work, symlinks=True)
                a, b, ratios = alternate(lambda _: corpus_round(ours, cases, work),
                                         (lambda _: corpus_round(theirs, cases, work)) if theirs else None,
                                         max(1, min(args.n, 3)))
                print(f"\ncorpus: {len(cases)} valid cases, one `config --format json` each (sum per round)")
                print(f"  pycompose       {fmt(a)}  ({statistics.median(a) / len(cases) * 1000:.0f} ms/case)")
                if b:
                    print(f"  docker compose  {fmt(b)}  ({statistics.median(b) / len(cases) * 1000:.0f} ms/case)")
                    print(f"  ratio pycompose/docker: {statistics.median(ratios):.2f}")

        v = [timed(ours + ["--version"], tmp, env) for _ in range(max(args.n, 5))]
        print(f"\npycompose --version  {fmt(v)} (budget 0.100 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
