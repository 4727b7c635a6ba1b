#!/usr/bin/env python3
"""Network benchmark: prints, in one run, pycompose beside Docker (when installed):

1. TCP throughput host -> container through a published port (127.0.0.1 and the network's
   gateway address, both DNAT by nftables) beside the container's own address (target: >= 0.9x),
   and Docker's published-port path (docker-proxy for 127.0.0.1) beside its container address.
2. DNS query latency from inside a container to 127.0.0.11 (median, p99), ours and Docker's.
3. Time to create a network, attach 10 endpoints, detach them and remove the network
   (Docker: network create + 10 connect + 10 disconnect + rm on running containers).

The same Python sink (a process joined only to the container's network namespace) and sender
are used for both engines, so only the network path differs. Docker runs in its own network
namespace (../shared/peers/daemons.sh); it is started and stopped here only if it was not running.
Needs root. Usage: python3 bench/network.py [--gib 1] [--reps 3] [--queries 2000] [--no-docker]
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
PEERS = REPO.parent / "shared" / "peers"
DOCKER_NS = "/run/netns/peers-docker"

SINK = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(4)
print("ready", flush=True)
buf = bytearray(4 << 20); mv = memoryview(buf)
while True:
    c, _ = s.accept()
    n = 0
    while True:
        k = c.recv_into(mv)
        if not k: break
        n += k
    c.sendall(b"k"); c.close()
    if n == 0: break
"""

SENDER = r"""
import socket, sys, time
host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = memoryview(bytes(4 << 20))
c = socket.create_connection((host, port), timeout=30)
t = time.perf_counter(); sent = 0
while sent < total:
    c.sendall(chunk); sent += len(chunk)
c.shutdown(socket.SHUT_WR); c.recv(1)
print(sent / (time.perf_counter() - t))
"""

STOP_SINK = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10); c.shutdown(socket.SHUT_WR); c.recv(1)
"""

DNS_CLIENT = r"""
import socket, struct, sys, time, json, random
name, n = sys.argv[1], int(sys.argv[2])
def q(i):
    hdr = struct.pack("!HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0)
    body = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    return hdr + body
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.connect(("127.0.0.11", 53))
lat = []; fail = 0
for i in range(n + 50):
    m = q(i); t = time.perf_counter_ns(); s.send(m)
    try:
        r = s.recv(4096)
    except socket.timeout:
        fail += 1; continue
    d = time.perf_counter_ns() - t
    ok = r[:2] == m[:2] and (r[3] & 0xf) == 0 and struct.unpack("!H", r[6:8])[0] >= 1
    if not ok: fail += 1
    elif i >= 50: lat.append(d / 1000)
lat.sort()
print(json.dumps({"median_us": lat[len(lat)//2] if lat else None, "p99_us": lat[int(len(lat)*0.99)] if lat else None, "fail": fail}))
"""


def sh(*cmd, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, **kw)


class StandIn:
    """A process in its own network namespace, standing in for a container (killed by PID)."""

    def __init__(self):
        self.proc = subprocess.Popen(["unshare", "--net", "sh", "-c", "echo ready; exec sleep 100000"],
                                     stdout=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == b"ready"
        self.pid = self.proc.pid

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def start_sink(pid: int, port: int, netns: str | None = None) -> subprocess.Popen:
    enter = ["nsenter", f"--net={netns}"] if netns else ["nsenter", "-t", str(pid), "-n"]
    p = subprocess.Popen(enter + [sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def stop_sink(p: subprocess.Popen, host: str, port: int, netns: str | None = None) -> None:
    pre = ["nsenter", f"--net={netns}"] if netns else []
    subprocess.run(pre + [sys.executable, "-c", STOP_SINK, host, str(port)], capture_output=True, timeout=20)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def send(host: str, port: int, nbytes: int, netns: str | None = None) -> float:
    pre = ["nsenter", f"--net={netns}"] if netns else []
    out = subprocess.run(pre + [sys.executable, "-c", SENDER, host, str(port), str(nbytes)],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"sender to {host}:{port} failed: {out.stderr.strip()}")
    return float(out.stdout)


def throughput(paths: dict[str, tuple[str, int]], nbytes: int, reps: int, netns: str | None = None) -> dict:
    """Alternate the paths rep by rep; per path the median bytes/s and the median of its pairwise
    ratio to the first path (same rep, so machine load drift cancels)."""
    got: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(reps):
        for k, (host, port) in paths.items():
            got[k].append(send(host, port, nbytes, netns))
    first = next(iter(paths))
    return {k: (statistics.median(v), statistics.median(a / b for a, b in zip(v, got[first])))
            for k, v in got.items()}


def dns_latency(enter: list[str], name: str, n: int) -> dict:
    out = subprocess.run(enter + [sys.executable, "-c", DNS_CLIENT, name, str(n)], capture_output=True,
                         text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return json.loads(out.stdout)


def record(name: str, network: str, ports: dict | None = None) -> dict:
    import secrets
    return {"Id": secrets.token_hex(32), "Name": "/" + name, "Config": {"Hostname": name},
            "HostConfig": {"NetworkMode": network, "PortBindings": ports or {}},
            "NetworkingConfig": {"EndpointsConfig": {network: {"Aliases": [name]}}}}


def bench_ours(args) -> dict:
    from engine.network import NetworkManager
    from engine.network.dns import DnsServer

    root = tempfile.mkdtemp(prefix="pyc-bench-net-")
    dns = DnsServer(root, upstreams=[])
    dns.start()
    nm = NetworkManager(root, dns=dns)
    res: dict = {}
    boxes, recs = [], []
    try:
        nm.create("benchnet")
        srv_rec = record("sink", "benchnet", {"5001/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""},
                                                           {"HostIp": "0.0.0.0", "HostPort": ""}]})
        peer_rec = record("peer", "benchnet")
        for rec in (srv_rec, peer_rec):
            nm.prepare(rec)
            box = StandIn()
            boxes.append(box)
            recs.append(rec)
            nm.attach(rec, box.pid)
        ns = nm.network_settings(srv_rec)
        ip = ns["Networks"]["benchnet"]["IPAddress"]
        gw = ns["Networks"]["benchnet"]["Gateway"]
        port = int(ns["Ports"]["5001/tcp"][0]["HostPort"])
        port2 = int(ns["Ports"]["5001/tcp"][1]["HostPort"])
        # Publish on 0.0.0.0 too, to measure the gateway-address path (DNAT from a host address)
        sink = start_sink(boxes[0].pid, 5001)
        try:
            res["tput"] = throughput({"container address": (ip, 5001), "published 127.0.0.1": ("127.0.0.1", port),
                                      "published gateway address": (gw, port2)}, args.nbytes, args.reps)
        finally:
            stop_sink(sink, ip, 5001)
        res["dns"] = dns_latency(["nsenter", "-t", str(boxes[1].pid), "-n"], "sink", args.queries)
        # create + 10 endpoints + teardown
        stand = [StandIn() for _ in range(10)]
        boxes += stand
        times = []
        for rep in range(args.reps):
            t = time.perf_counter()
            nm.create(f"ten{rep}")
            rs = [record(f"e{rep}-{i}", f"ten{rep}") for i in range(10)]
            for r, b in zip(rs, stand):
                nm.prepare(r)
                nm.attach(r, b.pid)
            for r in rs:
                nm.forget(r)
            nm.remove(f"ten{rep}")
            times.append(time.perf_counter() - t)
        res["ten"] = statistics.median(times)
    finally:
        for rec in recs:
            nm.forget(rec)
        for b in boxes:
            b.kill()
        for n in nm.list():
            if n["Name"] not in ("bridge", "host", "none"):
                nm.remove(n["Id"])
        dns.stop()
        shutil.rmtree(root, ignore_errors=True)
    return res


def docker(*a, check=True):
    return sh("docker", *a, check=check)


def bench_docker(args) -> dict | str:
    if not shutil.which("dockerd") or not shutil.which("docker"):
        return "Docker is not installed (bash ../shared/peers/install.sh)"
    started = False
    if docker("info", check=False).returncode != 0:
        r = sh("bash", str(PEERS / "daemons.sh"), "start-docker", check=False)
        if r.returncode != 0:
            return f"dockerd did not start: {r.stderr.strip()[-200:]}"
        started = True
    res: dict = {}
    made = []
    try:
        if docker("image", "inspect", "busybox:latest", check=False).returncode != 0:
            sh("bash", str(PEERS / "make-busybox.sh"), env=dict(os.environ, IMG_DIR="/tmp/peer-images"))
        docker("network", "create", "a7benchnet")
        docker("run", "-d", "--name", "a7sink", "--network", "a7benchnet", "-p", "127.0.0.1:15001:5001",
               "busybox", "sleep", "100000")
        docker("run", "-d", "--name", "a7peer", "--network", "a7benchnet", "busybox", "sleep", "100000")
        made += ["a7sink", "a7peer"]
        pid = int(docker("inspect", "-f", "{{.State.Pid}}", "a7sink").stdout)
        ip = docker("inspect", "-f", "{{.NetworkSettings.Networks.a7benchnet.IPAddress}}", "a7sink").stdout.strip()
        proxy = "docker-proxy" if sh("pgrep", "-x", "docker-proxy", check=False).returncode == 0 else "iptables DNAT"
        sink = start_sink(pid, 5001)
        try:
            res["tput"] = throughput({"container address": (ip, 5001), f"published 127.0.0.1 ({proxy})":
                                      ("127.0.0.1", 15001)}, args.nbytes, args.reps, DOCKER_NS)
        finally:
            stop_sink(sink, ip, 5001, DOCKER_NS)
        peer_pid = int(docker("inspect", "-f", "{{.State.Pid}}", "a7peer").stdout)
        res["dns"] = dns_latency(["nsenter", "-t", str(peer_pid), "-n"], "a7sink", args.queries)
        names = [f"a7e{i}" for i in range(10)]
        for n in names:
            docker("run", "-d", "--name", n, "--network", "a7benchnet", "busybox", "sleep", "100000")
            made.append(n)
        times = []
        for rep in range(args.reps):
            t = time.perf_counter()
            docker("network", "create", f"a7ten{rep}")
            for n in names:
                docker("network", "connect", f"a7ten{rep}", n)
            for n in names:
                docker("network", "disconnect", f"a7ten{rep}", n)
            docker("network", "rm", f"a7ten{rep}")
            times.append(time.perf_counter() - t)
        res["ten"] = statistics.median(times)
    finally:
        if made:
            docker("rm", "-f", *made, check=False)
        docker("network", "rm", "a7benchnet", check=False)
        if started:
            sh("bash", str(PEERS / "daemons.sh"), "stop-docker", check=False)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0, help="data per throughput run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    args.nbytes = int(args.gib * (1 << 30))
    if os.geteuid() != 0:
        print("bench/network.py needs root (namespaces, bridges, nftables)", file=sys.stderr)
        return 1
    print(f"pycompose network benchmark: {args.gib} GiB per throughput run, median of {args.reps}; "
          f"{args.queries} DNS queries\n")
    ours = bench_ours(args)
    peer = "skipped (--no-docker)" if args.no_docker else bench_docker(args)

    def gbit(v: float) -> str:
        return f"{v * 8 / 1e9:7.2f} Gbit/s"

    print(f"1. TCP throughput host -> container (median; ratio = median of same-rep ratios; load {os.getloadavg()[0]:.1f})")
    for k, (v, ratio) in ours["tput"].items():
        print(f"   pycompose  {k:40s} {gbit(v)}  ({ratio:.2f}x of container address)")
    if isinstance(peer, dict):
        for k, (v, ratio) in peer["tput"].items():
            print(f"   docker     {k:40s} {gbit(v)}  ({ratio:.2f}x of container address)")
        pub = [v for k, (v, _) in peer["tput"].items() if k != "container address"][0]
        print(f"   pycompose published 127.0.0.1 / docker published 127.0.0.1: "
              f"{ours['tput']['published 127.0.0.1'][0] / pub:.2f}x")
    else:
        print(f"   docker: {peer}")
    print("\n2. DNS query latency inside a container (UDP, 127.0.0.11, a container name)")
    d = ours["dns"]
    print(f"   pycompose  median {d['median_us']:8.1f} us   p99 {d['p99_us']:8.1f} us   failures {d['fail']}")
    if isinstance(peer, dict):
        d = peer["dns"]
        print(f"   docker     median {d['median_us']:8.1f} us   p99 {d['p99_us']:8.1f} us   failures {d['fail']}")
    print("\n3. create a network, 10 endpoints in, 10 out, remove it")
    print(f"   pycompose  {ours['ten'] * 1000:8.1f} ms  (create + 10 x prepare/attach + 10 x detach + rm, in-process)")
    if isinstance(peer, dict):
        print(f"   docker     {peer['ten'] * 1000:8.1f} ms  (docker network create + 10 connect + 10 disconnect + rm)"
              )
    return 0


if __name__ == "__main__":
    sys.exit(main())
