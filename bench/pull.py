#!/usr/bin/env python3
"""Pull from a local registry: pycompose beside ``skopeo copy`` and ``podman pull``, same run.

Makes an image of about 100 MB in 5 layers (random, so incompressible, data made here),
pushes it with skopeo to a Debian docker-registry on 127.0.0.1, then times, turn by turn:

* pycompose cold: a fresh data root, ``Engine(root).images.pull(ref)`` in a new Python
  process (imports included): manifest, 5 verified downloads, each layer unpacked while it
  arrives (as docker and podman unpack); and "no unpack": the same with the layers left packed until first use
  (digests and diff ids still checked), the work skopeo's copy does;
* ``skopeo copy docker://... dir:DIR`` into a fresh directory (downloads and verifies, no unpack);
* ``podman pull`` into a fresh storage root (downloads and unpacks) when podman is installed;
* pycompose warm: the same pull again (nothing to fetch), as a process calling the API,
  as the CLI (``pycompose image pull -q``), and inside one process (the API call alone).

Prints medians (min..max), the ratios to skopeo and each tool's CPU time (user+sys, which a
busy machine disturbs less than wall time). Targets: cold <= 1.0x skopeo, warm < 150 ms.

    python3 bench/pull.py [-n 5] [--mb 100] [--layers 5]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
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
sys.path.insert(0, str(REPO / "tests" / "registry"))

import servers  # noqa: E402  (the test suite's registry launcher)

PULL_SNIPPET = ("import sys; sys.path.insert(0, sys.argv[3]); from engine.api import Engine; "
                "Engine(sys.argv[1]).images.pull(sys.argv[2])")
CLI_SNIPPET = ("import sys; sys.path.insert(0, sys.argv[1]); from compose.cli.main import main; "
               "sys.exit(main(sys.argv[2:]))")
PACKED_SNIPPET = ("import sys; sys.path.insert(0, sys.argv[3]); from engine.images import ImageStore; "
                  "from engine.registry.pull import pull; pull(ImageStore(sys.argv[1]), sys.argv[2], unpack=False)")


def make_layout(path: Path, mb: int, layers: int) -> servers.OciLayout:
    """An OCI layout with ``layers`` gzip layers of random data, ``mb`` MB in all."""
    layout = servers.OciLayout(path)
    per = mb * (1 << 20) // layers
    plain = []
    for i in range(layers):
        data = os.urandom(per)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo(f"data/layer{i}.bin")
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            tf.addfile(ti, io.BytesIO(data))
        plain.append(buf.getvalue())
    cfg = {"architecture": servers_arch(), "os": "linux", "created": "2024-01-01T00:00:00Z",
           "config": {"Cmd": ["/bin/sh"]}}
    desc = layout.image(cfg, plain)
    layout.name(desc, "latest")
    return layout


def servers_arch() -> str:
    from engine.images.archive import host_arch

    return host_arch()


CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd: list[str], env: dict | None = None, label: str | None = None) -> float:
    """Wall seconds of ``cmd``; its CPU seconds (user+sys) go to CPU[label]."""
    c, t = _children_cpu(), time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.monotonic() - t
    if label:
        CPU.setdefault(label, []).append(_children_cpu() - c)
    return wall


def fmt(vals: list[float]) -> str:
    return f"{statistics.median(vals):7.3f} s  ({min(vals):.3f}..{max(vals):.3f}, n={len(vals)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=5)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYCOMPOSE_CONFIG"] = "/nonexistent/pycompose-bench.json"
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-pull-"))
    reg = servers.start_registry()
    podman = shutil.which("podman")
    results: dict[str, list[float]] = {"pycompose cold": [], "pycompose cold, no unpack": [],
                                       "skopeo cold": [], "podman cold": [],
                                       "pycompose warm (process)": [], "pycompose image pull -q, warm": [],
                                       "pycompose warm (API call)": []}
    try:
        print(f"making a {args.mb} MB image in {args.layers} layers and pushing it to {reg.host} ...", flush=True)
        layout = make_layout(work / "layout", args.mb, args.layers)
        reg.skopeo_copy(f"oci:{layout.path}:latest", "bench/big:latest", "--preserve-digests")
        shutil.rmtree(layout.path)
        ref = f"{reg.host}/bench/big:latest"
        # one untimed pull of each kind first: page cache and .pyc files as a user's second day has them
        warm_root = work / "pyc-warm"
        run([sys.executable, "-c", PULL_SNIPPET, str(warm_root), ref, str(REPO)], env)
        for i in range(args.n):
            root = work / f"pyc-{i}"
            results["pycompose cold"].append(run([sys.executable, "-c", PULL_SNIPPET, str(root), ref, str(REPO)], env,
                                                 "pycompose cold"))
            shutil.rmtree(root)
            results["pycompose cold, no unpack"].append(
                run([sys.executable, "-c", PACKED_SNIPPET, str(root), ref, str(REPO)], env, "pycompose cold, no unpack"))
            shutil.rmtree(root)
            d = work / f"skopeo-{i}"
            results["skopeo cold"].append(run(["skopeo", "copy", "-q", "--src-tls-verify=false",
                                               f"docker://{ref}", f"dir:{d}"], None, "skopeo cold"))
            shutil.rmtree(d)
            if podman:
                proot, prun = work / f"podman-{i}", work / f"podman-run-{i}"
                results["podman cold"].append(run([podman, "--root", str(proot), "--runroot", str(prun),
                                                   "--storage-driver", "overlay", "pull", "-q",
                                                   "--tls-verify=false", ref], None, "podman cold"))
                subprocess.run([podman, "--root", str(proot), "--runroot", str(prun), "--storage-driver", "overlay",
                                "system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                shutil.rmtree(proot, ignore_errors=True)
                shutil.rmtree(prun, ignore_errors=True)
            results["pycompose warm (process)"].append(
                run([sys.executable, "-c", PULL_SNIPPET, str(warm_root), ref, str(REPO)], env,
                    "pycompose warm (process)"))
            results["pycompose image pull -q, warm"].append(
                run([sys.executable, "-c", CLI_SNIPPET, str(REPO), "image", "pull", "-q", ref],
                    dict(env, PYCOMPOSE_ROOT=str(warm_root)), "pycompose image pull -q, warm"))
        os.environ["PYCOMPOSE_CONFIG"] = env["PYCOMPOSE_CONFIG"]
        from engine.api import Engine

        eng = Engine(str(warm_root))
        eng.images.pull(ref)
        for _ in range(args.n):
            t = time.monotonic()
            status = eng.images.pull(ref)["status"]
            results["pycompose warm (API call)"].append(time.monotonic() - t)
            assert status.startswith("Image is up to date"), status
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\npull of a {args.mb} MB image in {args.layers} layers from a local docker-registry (medians)")
    sk = statistics.median(results["skopeo cold"])
    for name, vals in results.items():
        if not vals:
            print(f"  {name:28s} not measured (not installed)")
            continue
        ratio = f"  {statistics.median(vals) / sk:5.2f}x skopeo" if "cold" in name else ""
        cpu = f"   cpu {statistics.median(CPU[name]):.3f} s" if name in CPU else ""
        print(f"  {name:28s} {fmt(vals)}{ratio}{cpu}")
    print(f"  (load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  (pycompose ran as {sys.executable} directly, no pyenv shim, PYTHONDONTWRITEBYTECODE unset: "
          ".pyc files present, as an installed pycompose has them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
