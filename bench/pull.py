#!/usr/bin/env python3
"""Pull from a local registry: pycompose beside ``skopeo copy`` and ``podman pull``, same run.

Makes an image of about 100 MB in 5 layers (random, so incompressible, data made here),
pushes it with skopeo to a Debian docker-registry on 127.0.0.1, then:

1. profiles the pieces of a cold pull on those blobs, in this process (CPU seconds and MB/s):
   socket reads (raw, and through httpx as the pull does), sha256, gunzip, the safe tar
   unpack, writing the blob file, and the whole pull (its threads) for comparison;
2. times, turn by turn: pycompose cold (a fresh data root, ``Engine(root).images.pull(ref)``
   in a new process, imports included: manifest, 5 verified downloads, each layer unpacked
   while it arrives, as docker and podman unpack), from the checkout and from a user's
   install; "no unpack": the layers left packed until first use (digests and diff ids still
   checked), the work skopeo's copy does; ``skopeo copy docker://... dir:DIR`` (downloads and
   verifies, no unpack); ``podman pull`` into a fresh storage root when podman is installed;
3. the warm pull (nothing to fetch: one HEAD of the manifest) as a process calling the API and
   as the CLI (``pycompose image pull -q``), each from the checkout and from a user's install
   (bench/_userinstall.py: a venv made with this interpreter, the wheel with its dependencies,
   bytecode compiled, none of this machine's site ``.pth`` files), and inside one process.

Prints medians (min..max), the ratios to skopeo and each tool's CPU time (user+sys, which a
busy machine disturbs less than wall time). Targets: cold <= 1.0x skopeo, warm < 150 ms.

    python3 bench/pull.py [-n 5] [--mb 100] [--layers 5] [--no-user-install]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import socket
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
USER_PULL_SNIPPET = "import sys; from engine.api import Engine; Engine(sys.argv[1]).images.pull(sys.argv[2])"
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


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
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


# --- 1. the profile of a cold pull's pieces ------------------------------------------------------
def _layer_blobs(layout: servers.OciLayout) -> list[tuple[str, bytes]]:
    index = json.loads((layout.path / "index.json").read_text())
    blob = lambda d: (layout.path / "blobs" / "sha256" / d.split(":", 1)[1]).read_bytes()  # noqa: E731
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    return [(l["digest"], blob(l["digest"])) for l in manifest["layers"]]


def _raw_get(host: str, path: str) -> int:
    """One GET over a plain socket, 1 MiB recv_into: what the network part costs at least."""
    name, port = host.rsplit(":", 1)
    buf, n = bytearray(1 << 20), 0
    with socket.create_connection((name, int(port))) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        while k := s.recv_into(buf):
            n += k
    return n


def profile(reg: servers.Registry, layout: servers.OciLayout, work: Path) -> list[tuple[str, float, float, float]]:
    """(piece, wall s, cpu s, MB/s) of each piece of a cold pull, on this image's layers."""
    from engine.images import compression
    from engine.images.store import ImageStore
    from engine.images.unpack import unpack_stream
    from engine.registry.httpstack import httpx
    from engine.registry.pull import pull

    blobs = _layer_blobs(layout)
    mb = sum(len(b) for _, b in blobs) / 1e6
    plains: list[bytes] = []
    base = f"http://{reg.host}/v2/bench/big/blobs/"

    def via_httpx() -> None:
        with httpx.Client() as c:
            for d, _ in blobs:
                with c.stream("GET", base + d, follow_redirects=True) as r:
                    for _chunk in r.iter_raw():
                        pass

    def gunzip() -> None:
        plains.clear()
        for _, b in blobs:
            plains.append(compression.Gunzip(io.BytesIO(b)).read())

    def unpack() -> None:
        for i, p in enumerate(plains):
            (work / f"prof-u{i}").mkdir()
            unpack_stream(io.BytesIO(p), work / f"prof-u{i}")

    def write() -> None:
        for i, (_, b) in enumerate(blobs):
            (work / f"prof-w{i}").write_bytes(b)

    def write_direct() -> None:
        from engine.images.directio import DirectWriter

        for i, (_, b) in enumerate(blobs):
            with DirectWriter(os.open(work / f"prof-d{i}", os.O_WRONLY | os.O_CREAT)) as w:
                for k in range(0, len(b), 1 << 20):
                    w.write(b[k:k + (1 << 20)])

    import hashlib
    pieces = [("socket reads (raw, 1 MiB recv_into)", lambda: [_raw_get(reg.host, f"/v2/bench/big/blobs/{d}") for d, _ in blobs]),
              ("socket reads through httpx (the pull's)", via_httpx),
              ("sha256 of the blobs", lambda: [hashlib.sha256(b).digest() for _, b in blobs]),
              (f"gunzip ({compression._inflater().__name__.split('.')[0]}, 1 MiB chunks)", gunzip),
              ("sha256 of the tar streams (diff ids)", lambda: [hashlib.sha256(p).digest() for p in plains]),
              ("safe tar unpack from memory (+ writes)", unpack),
              ("writing the blob files past the page cache", write_direct),
              ("(the same through the page cache: before)", write),
              ("the whole pull, in this process", lambda: pull(ImageStore(work / "prof-root"), f"{reg.host}/bench/big:latest"))]
    out = []
    for name, fn in pieces:
        c, t = _self_cpu(), time.monotonic()
        fn()
        wall, cpu = time.monotonic() - t, _self_cpu() - c
        out.append((name, wall, cpu, mb / wall))
    for p in work.glob("prof-*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return out


# --- 2. and 3. the timed runs ------------------------------------------------------------------------
def _userinstall():
    """bench/_userinstall.py (loaded by path: bench/ on sys.path would shadow the engine package
    with bench/engine.py)."""
    import importlib.util

    mod = sys.modules.get("_userinstall")
    if mod is None:
        spec = importlib.util.spec_from_file_location("_userinstall", REPO / "bench" / "_userinstall.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["_userinstall"] = mod
    return mod


def user_install(env: dict) -> Path | None:
    """The venv of a user's install (built once per source state), or None when it cannot be made."""
    ensure_venv = _userinstall().ensure_venv
    try:
        home = Path(tempfile.gettempdir()) / "pyc-bench-pull-venvs"   # its own: ensure_venv removes older ones
        home.mkdir(exist_ok=True)
        venv, key, reused = ensure_venv(REPO, sys.executable, home)
    except (subprocess.SubprocessError, RuntimeError, StopIteration) as e:
        print(f"  (no user install: {str(e)[:300]})")
        return None
    print(f"user install: {venv} ({'reused' if reused else 'built'})", flush=True)
    return venv


def cold_round(i: int, ref: str, work: Path, env: dict, venv: Path | None, podman: str | None,
               results: dict[str, list[float]]) -> None:
    """One cold pull of each tool, the order turned by one each round so none always goes first
    (the first run after a pause, or after another tool freed its pages, is the slow one here)."""
    root = work / f"pyc-{i}"
    runs: list[tuple[str, list[str], dict | None, Path]] = [
        ("pycompose cold", [sys.executable, "-c", PULL_SNIPPET, str(root), ref, str(REPO)], env, root)]
    if venv is not None:
        user_env = _userinstall().user_env
        runs.append(("pycompose cold (user install)",
                     [str(venv / "bin" / "python"), "-c", USER_PULL_SNIPPET, str(root), ref], user_env(env), root))
    runs.append(("pycompose cold, no unpack", [sys.executable, "-c", PACKED_SNIPPET, str(root), ref, str(REPO)],
                 env, root))
    d = work / f"skopeo-{i}"
    runs.append(("skopeo cold", ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"dir:{d}"],
                 None, d))
    if podman:
        proot, prun = work / f"podman-{i}", work / f"podman-run-{i}"
        base = [podman, "--root", str(proot), "--runroot", str(prun), "--storage-driver", "overlay"]
        runs.append(("podman cold", base + ["pull", "-q", "--tls-verify=false", ref], None, proot))
    k = i % len(runs)
    for name, cmd, e, out in runs[k:] + runs[:k]:
        results[name].append(run(cmd, e, name))
        if name == "podman cold":
            subprocess.run(base + ["system", "reset", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(prun, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def warm_round(ref: str, warm_root: Path, env: dict, venv: Path | None, results: dict[str, list[float]]) -> None:
    def timed(name: str, cmd: list[str], e: dict) -> None:
        results[name].append(run(cmd, e, name))

    cli_env = dict(env, PYCOMPOSE_ROOT=str(warm_root))
    timed("pycompose warm (process)", [sys.executable, "-c", PULL_SNIPPET, str(warm_root), ref, str(REPO)], env)
    timed("pycompose image pull -q, warm", [sys.executable, "-c", CLI_SNIPPET, str(REPO), "image", "pull", "-q", ref],
          cli_env)
    if venv is not None:
        user_env = _userinstall().user_env
        uenv = dict(user_env(env), PYCOMPOSE_ROOT=str(warm_root))
        timed("user install: warm (process)", [str(venv / "bin" / "python"), "-c", USER_PULL_SNIPPET,
                                               str(warm_root), ref], uenv)
        timed("user install: image pull -q", [str(venv / "bin" / "pycompose"), "image", "pull", "-q", ref], uenv)


def report(args, results: dict[str, list[float]], prof: list[tuple[str, float, float, float]]) -> None:
    print(f"\nprofile of a cold pull's pieces on the same {args.mb} MB ({args.layers} layers), in one process:")
    for name, wall, cpu, rate in prof:
        print(f"  {name:42s} {wall:6.3f} s wall  {cpu:6.3f} s cpu  {rate:7.0f} MB/s")
    pieces = sum(cpu for name, _w, cpu, _r in prof[1:-1] if not name.startswith("("))
    print(f"  (httpx reads + hashing + gunzip + unpack + blob writes, each alone: {pieces:.3f} s cpu; the whole "
          f"pull, which runs them in threads: {prof[-1][2]:.3f} s)")
    print(f"\npull of a {args.mb} MB image in {args.layers} layers from a local docker-registry (medians)")
    sk = statistics.median(results["skopeo cold"])
    skc = statistics.median(CPU["skopeo cold"])
    for name, vals in results.items():
        if not vals:
            print(f"  {name:32s} not measured (not installed)")
            continue
        ratio = f"  {statistics.median(vals) / sk:5.2f}x skopeo" if "cold" in name else ""
        cpu = f"   cpu {statistics.median(CPU[name]):.3f} s" if name in CPU else ""
        if "cold" in name and name in CPU:
            cpu += f" ({statistics.median(CPU[name]) / skc:.2f}x)"
        print(f"  {name:32s} {fmt(vals)}{ratio}{cpu}")
    print(f"  (load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores)")
    print(f"  (checkout runs: {sys.executable} directly, no pyenv shim, PYTHONDONTWRITEBYTECODE unset, .pyc files "
          "present; the editable-install finder and this machine's site .pth files load at each start, which a "
          "user's install has not: the user-install rows)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--no-user-install", action="store_true", help="skip the runs from a wheel installed in a venv")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYCOMPOSE_CONFIG"] = "/nonexistent/pycompose-bench.json"
    os.environ["PYCOMPOSE_CONFIG"] = env["PYCOMPOSE_CONFIG"]
    venv = None if args.no_user_install else user_install(env)
    work = Path(tempfile.mkdtemp(prefix="pyc-bench-pull-"))
    reg = servers.start_registry()
    podman = shutil.which("podman")
    names = ["pycompose cold", "pycompose cold (user install)", "pycompose cold, no unpack", "skopeo cold",
             "podman cold", "pycompose warm (process)", "pycompose image pull -q, warm",
             "user install: warm (process)", "user install: image pull -q", "pycompose warm (API call)"]
    results: dict[str, list[float]] = {n: [] for n in names}
    try:
        print(f"making a {args.mb} MB image in {args.layers} layers and pushing it to {reg.host} ...", flush=True)
        layout = make_layout(work / "layout", args.mb, args.layers)
        reg.skopeo_copy(f"oci:{layout.path}:latest", "bench/big:latest", "--preserve-digests")
        ref = f"{reg.host}/bench/big:latest"
        prof = profile(reg, layout, work)
        shutil.rmtree(layout.path)
        # one untimed pull of each kind first: page cache and .pyc files as a user's second day has them
        warm_root = work / "pyc-warm"
        run([sys.executable, "-c", PULL_SNIPPET, str(warm_root), ref, str(REPO)], env)
        if venv is not None:
            run([str(venv / "bin" / "python"), "-c", USER_PULL_SNIPPET, str(warm_root), ref], env)
        for i in range(args.n):
            cold_round(i, ref, work, env, venv, podman, results)
            warm_round(ref, warm_root, env, venv, results)
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
    if venv is None:
        for n in names:
            if n.startswith("user install") or "(user install)" in n:
                results.pop(n)
    report(args, results, prof)
    return 0


if __name__ == "__main__":
    sys.exit(main())
