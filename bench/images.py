#!/usr/bin/env python3
"""Image load + first unpack: pycompose beside podman (and docker when its daemon runs), same run.

For two archives (the busybox test image, ~2 MB; and a "many files" image made from a
tarball of /usr/lib/python3*, thousands of files) it prints the median wall time of:

* ``pycompose image load -i A`` into a fresh data root (verifies every digest), then the
  first-use unpack of its layers (``ImageRecord.layer_dirs()``), and the two together;
* ``podman load -i A`` (which stores and unpacks the layers) followed by ``podman rmi``;
* ``docker load -i A`` when a docker daemon answers (else says it was not measured).

The archives carry a tag of their own (``pycbench/...``) so the peers' busybox is untouched.

    python3 bench/images.py [-n 5]
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.images import ImageStore  # noqa: E402


def sh(cmd: list[str], env=None, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=check)


def timed(fn) -> float:
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def med(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:8.1f} ms (min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f}, n={len(xs)})"


def make_archives(work: Path) -> dict[str, Path]:
    out = {}
    bb = work / "busybox.tar"
    sh([str(REPO / "scripts/make-test-image"), "--no-load", "--output", str(bb), "--tag", "pycbench/busybox:1"])
    out["busybox (1 layer, ~2 MB)"] = bb
    src = sorted(glob.glob("/usr/lib/python3.*"))[0]
    rootfs = work / "many.tar"
    with tarfile.open(rootfs, "w") as tf:
        tf.add(src, arcname="usr/lib/python3", filter=lambda ti: None if "__pycache__" in ti.name else ti)
    store = ImageStore(work / "mkroot")
    store.import_tarball(rootfs, "pycbench/many:1")
    many = work / "many-image.tar"
    store.save(["pycbench/many:1"], many)
    with tarfile.open(rootfs) as tf:
        n = len(tf.getmembers())
    out[f"many files ({n} entries, {rootfs.stat().st_size / 1e6:.0f} MB)"] = many
    return out


def bench_pycompose(archive: Path, n: int) -> tuple[list[float], list[float], list[float]]:
    loads, unpacks, totals = [], [], []
    for _ in range(n):
        root = Path(tempfile.mkdtemp(prefix="pyc-bench-img-"))
        try:
            env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYTHONPATH=str(REPO))
            t_load = timed(lambda: sh([sys.executable, "-m", "compose.cli.main", "image", "load", "-q", "-i",
                                       str(archive)], env=env))
            store = ImageStore(root)
            rec = store.list()[0]
            t_unpack = timed(rec.layer_dirs)
            loads.append(t_load)
            unpacks.append(t_unpack)
            totals.append(t_load + t_unpack)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return loads, unpacks, totals


def peer_available(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bench_peer(tool: str, archive: Path, tag: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(timed(lambda: sh([tool, "load", "-q", "-i", str(archive)])))
        sh([tool, "rmi", "-f", tag], check=False)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-archives-"))
    try:
        archives = make_archives(work)
        has_podman = shutil.which("podman") and peer_available(["podman", "info"])
        has_docker = shutil.which("docker") and peer_available(["docker", "version", "--format", "{{.Server.Version}}"])
        for label, archive in archives.items():
            tag = "pycbench/busybox:1" if "busybox" in label else "pycbench/many:1"
            print(f"== {label}: {archive.stat().st_size / 1e6:.1f} MB archive")
            loads, unpacks, totals = bench_pycompose(archive, args.n)
            print(f"  pycompose image load        {med(loads)}")
            print(f"  pycompose first unpack      {med(unpacks)}")
            print(f"  pycompose load + unpack     {med(totals)}")
            for tool, ok in (("podman", has_podman), ("docker", has_docker)):
                if not ok:
                    print(f"  {tool} load: not measured ({tool} is not installed or its daemon is not running)")
                    continue
                t = bench_peer(tool, archive, tag, args.n)
                print(f"  {tool} load                 {med(t)}   ratio pycompose/{tool}: "
                      f"{statistics.median(totals) / statistics.median(t):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
