#!/usr/bin/env python3
"""Image builds: pycompose beside ``docker build`` (the peers' dockerd, when it answers), same run.

One multi-stage Dockerfile (7 steps: a RUN writing 50 MB in one stage, WORKDIR, COPY --from
of that file, a RUN, a COPY of 3000 small files, a RUN over them) built three ways, each
timed as a whole ``build`` command (median of n runs):

* cold: ``--no-cache`` (every step runs; the base image is already local for both);
* cached: the same build again, nothing changed (every step from the cache);
* one file: one of the 3000 files edited (the COPY of the tree and the RUN after it rebuild).

pycompose runs ``pycompose image build -q`` on a fresh data root with the busybox test image;
docker runs ``docker build -q`` with the same busybox loaded (docker 20.10 here has no buildx,
so its classic builder builds: what ``docker build`` does on this machine). Ratios are
pycompose / docker; the targets: cached <= 0.5, one file <= 1.0, cold <= 1.2.

    python3 bench/build.py [-n 3] [--files 3000]
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _alternate import parser

REPO = Path(__file__).resolve().parents[1]
TAG = "pycbench/build:1"
DOCKERFILE = """\
FROM busybox AS data
RUN head -c 52428800 /dev/urandom > /blob && cd / && md5sum blob > blob.md5

FROM busybox
WORKDIR /app
COPY --from=data /blob /blob.md5 /app/
RUN md5sum -c blob.md5 > /app/verified
COPY src/ /app/src/
RUN find /app/src -type f | wc -l > /app/count
CMD ["cat", "/app/count"]
"""


def make_context(root: Path, files: int) -> Path:
    ctx = root / "ctx"
    for i in range(files):
        d = ctx / "src" / f"pkg{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i:05d}.py").write_text(f"# module {i}\nVALUE = {i}\n" + "x = 1\n" * (i % 7))
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


def pyc_env(root: Path) -> dict:
    env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYTHONPATH=str(REPO))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its .pyc files
    return env


def run(cmd: list[str], env=None) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])}... failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return dt


def docker_up() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True).returncode == 0


def measure(build, ctx: Path, n: int) -> dict[str, list[float]]:
    """Run the cold / cached / one-file sequence n times: {phase: [seconds]}."""
    out: dict[str, list[float]] = {"cold": [], "cached": [], "one file": []}
    target = ctx / "src" / "pkg007" / "mod00700.py"
    original = target.read_text()
    for i in range(n):
        out["cold"].append(build(no_cache=True))
        out["cached"].append(build())
        target.write_text(original + f"# edit {i} {time.time()}\n")
        out["one file"].append(build())
    target.write_text(original)
    return out


def main() -> int:
    ap = parser(__doc__, rounds=3)
    ap.add_argument("--files", type=int, default=3000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-build-"))
    try:
        ctx = make_context(work, args.files)
        root = work / "root"
        env = pyc_env(root)
        archive = work / "busybox.tar"
        subprocess.run([str(REPO / "scripts/make-test-image"), "--output", str(archive)], env=env, check=True,
                       capture_output=True)
        pyc = [sys.executable, "-m", "compose.cli.main", "image", "build", "-q", "-t", TAG]
        results = {"pycompose": measure(lambda no_cache=False: run(pyc + (["--no-cache"] if no_cache else [])
                                                                    + [str(ctx)], env), ctx, args.n)}
        if docker_up():
            subprocess.run(["docker", "load", "-i", str(archive)], capture_output=True, check=True)
            denv = dict(os.environ, DOCKER_BUILDKIT="0")
            dk = ["docker", "build", "-q", "-t", TAG]
            results["docker"] = measure(lambda no_cache=False: run(dk + (["--no-cache"] if no_cache else [])
                                                                   + [str(ctx)], denv), ctx, args.n)
            subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True)
            subprocess.run(["docker", "builder", "prune", "-f"], capture_output=True)
        report(results, args)
        subprocess.run([sys.executable, "-c", "from engine.api import Engine; Engine().shutdown()"], env=env,
                       capture_output=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results: dict, args) -> None:
    print(f"multi-stage build, 7 steps, {args.files} small files + a 50 MB RUN; median of {args.n} "
          f"(min..max), seconds")
    peers = list(results)
    print(f"{'phase':<10}" + "".join(f"{p:>26}" for p in peers) + ("   ratio pyc/docker  target" if
                                                                       "docker" in results else ""))
    targets = {"cold": 1.2, "cached": 0.5, "one file": 1.0}
    for phase in ("cold", "cached", "one file"):
        line = f"{phase:<10}"
        for p in peers:
            xs = results[p][phase]
            line += f"{statistics.median(xs):>10.2f} ({min(xs):.2f}..{max(xs):.2f})".rjust(26)
        if "docker" in results:
            ratio = statistics.median(results["pycompose"][phase]) / statistics.median(results["docker"][phase])
            line += f"   {ratio:>10.2f}x        <= {targets[phase]}"
        print(line)
    if "docker" not in results:
        print("docker: not measured (no dockerd answering; `bash ../shared/peers/daemons.sh start-docker`)")


if __name__ == "__main__":
    sys.exit(main())
