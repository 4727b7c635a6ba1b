#!/usr/bin/env python3
"""Time ``engine.runtime.start`` against ``runc run`` on the same busybox rootfs.

What is measured, both sides the same way: from the call until the container's
``true`` has exited and been reaped (the runtime's whole path: namespaces,
rootfs, mounts, pivot_root, caps, exec). Runs alternate (ours, runc, ours, ...)
so machine drift cancels; prints medians and the ratio. Also times starting 50
``sleep`` containers back to back. runc is measured when installed; the script
says so when it is not.

    python3 bench/runtime_start.py [-n 30]
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

from engine.runtime.start import start  # noqa: E402
from runtime_helpers import make_busybox_layer, make_spec  # noqa: E402

from _alternate import alternate, parser  # noqa: E402


def runc_bundle(base: Path, layer: Path) -> Path | None:
    if not shutil.which("runc"):
        return None
    b = base / "bundle"
    b.mkdir()
    subprocess.run(["runc", "spec"], cwd=b, check=True)
    cfg = json.loads((b / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    cfg["root"] = {"path": str(layer), "readonly": True}
    (b / "config.json").write_text(json.dumps(cfg))
    return b


def time_ours(layer: Path, base: Path, i: int, null: int) -> float:
    spec = make_spec(layer, base / f"c{i}", ["true"])
    t0 = time.perf_counter()
    pid = start(spec, (null, null, null))
    os.waitpid(pid, 0)
    return time.perf_counter() - t0


def time_runc(bundle: Path, i: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(["runc", "run", "--bundle", str(bundle), f"pyc-bench-{os.getpid()}-{i}"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.1f} ms (min {min(xs) * 1000:.1f}, max {max(xs) * 1000:.1f}, n={len(xs)})"


def main() -> int:
    ap = parser(__doc__, rounds=30)
    ap.add_argument("--many", type=int, default=50)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pyc-bench-rt-"))
    null = os.open("/dev/null", os.O_RDWR)
    try:
        layer = make_busybox_layer(base / "layer")
        bundle = runc_bundle(base, layer)
        time_ours(layer, base, -1, null)  # warm-up
        ours, theirs, ratios = alternate(lambda i: time_ours(layer, base, i, null),
                                         (lambda i: time_runc(bundle, i)) if bundle else None, args.n)
        print(f"pycompose runtime start()+exit of `true`: {fmt(ours)}")
        if bundle:
            ver = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
            print(f"runc run of the same rootfs ({ver}):   {fmt(theirs)}")
            print(f"ratio pycompose/runc (pairwise median): {statistics.median(ratios):.2f}x")
        else:
            print("runc is not installed: no peer figure (bash ../shared/peers/install.sh)")
        pids = []
        t0 = time.perf_counter()
        for i in range(args.many):
            pids.append(start(make_spec(layer, base / f"m{i}", ["sleep", "1000"]), (null, null, null)))
        t = time.perf_counter() - t0
        print(f"{args.many} containers started back to back: {t:.2f} s ({t / args.many * 1000:.1f} ms each)")
        for p in pids:
            os.kill(p, signal.SIGKILL)
            os.waitpid(p, 0)
    finally:
        os.close(null)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
