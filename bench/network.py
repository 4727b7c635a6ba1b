#!/usr/bin/env python3
"""Network benchmark: prints, in one run, pycompose beside Docker (when installed):

1. TCP throughput host -> container through a published port (127.0.0.1 and the network's
   gateway address, both DNAT by nftables) beside the container's own address (target: >= 0.9x),
   and Docker's published-port path (docker-proxy for 127.0.0.1) beside its container address.
2. DNS query latency from inside a container to 127.0.0.11 (median, p99), ours and Docker's,
   with the server's CPU per query (ours: the DNS process; Docker: all of dockerd), then one
   more round of ours with the server's per-query profile (where the time of an answer goes:
   waiting to be read, state check, answer, send; engine.network.dnsprofile).
2b. Ours while the process hosting the DNS server runs busy Python, the server being a child
   process (as shipped) or a thread of that process (as before): why it is a process.
3. Time to create a network, attach 10 endpoints, detach them and remove the network
   (Docker: network create + 10 connect + 10 disconnect + rm on running containers).

The same Python sink (a process joined only to the container's network namespace) and sender
are used for both engines, so only the network path differs. Docker runs in its own network
namespace (../shared/peers/daemons.sh); it is started and stopped here only if it was not running.
Our DNS server runs as the supervisor runs it: a process of its own (engine.network.dnsproc).
Needs root. Usage: python3 bench/network.py [--gib 1] [--reps 3] [--queries 5000] [--no-docker]
[--parts tput,dns,busy,ten]
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
import threading
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
print(json.dumps({"lat": lat, "fail": fail}))
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


class Ours:
    """pycompose's network on stand-in containers: a sink container with published ports, a peer."""

    name = "pycompose"

    def __init__(self):
        from engine.network import NetworkManager
        from engine.network.dnsproc import DnsProcess

        self.root = tempfile.mkdtemp(prefix="pyc-bench-net-")
        self.dns = DnsProcess(self.root, upstreams=[])
        self.dns.start()
        self.nm = NetworkManager(self.root, dns=self.dns)
        self.boxes, self.recs, self.sink = [], [], None
        self.nm.create("benchnet")
        srv = record("sink", "benchnet", {"5001/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""},
                                                       {"HostIp": "0.0.0.0", "HostPort": ""}]})
        for rec in (srv, record("peer", "benchnet")):
            self.nm.prepare(rec)
            box = StandIn()
            self.boxes.append(box)
            self.recs.append(rec)
            self.nm.attach(rec, box.pid)
        ns = self.nm.network_settings(srv)
        self.ip = ns["Networks"]["benchnet"]["IPAddress"]
        gw = ns["Networks"]["benchnet"]["Gateway"]
        ports = ns["Ports"]["5001/tcp"]
        self.paths = {"container address": (self.ip, 5001), "published 127.0.0.1": ("127.0.0.1", int(ports[0]["HostPort"])),
                      "published gateway address": (gw, int(ports[1]["HostPort"]))}
        self.netns = None
        self.sink = start_sink(self.boxes[0].pid, 5001)
        self.dns_enter = ["nsenter", "-t", str(self.boxes[1].pid), "-n"]
        self.dns_name = "sink"
        self.dns_pid = self.dns.pid
        self.ten_boxes = [StandIn() for _ in range(10)]
        self.rep = 0

    def ten(self) -> float:
        self.rep += 1
        t = time.perf_counter()
        self.nm.create(f"ten{self.rep}")
        rs = [record(f"e{self.rep}-{i}", f"ten{self.rep}") for i in range(10)]
        for r, b in zip(rs, self.ten_boxes):
            self.nm.prepare(r)
            self.nm.attach(r, b.pid)
        for r in rs:
            self.nm.forget(r)
        self.nm.remove(f"ten{self.rep}")
        return time.perf_counter() - t

    def close(self) -> None:
        if self.sink:
            stop_sink(self.sink, self.ip, 5001)
        for rec in self.recs:
            self.nm.forget(rec)
        for b in self.boxes + self.ten_boxes:
            b.kill()
        for n in self.nm.list():
            if n["Name"] not in ("bridge", "host", "none"):
                self.nm.remove(n["Id"])
        self.dns.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def docker(*a, check=True):
    return sh("docker", *a, check=check)


class Docker:
    """The same measurements on Docker (dockerd in its own netns, see ../shared/peers/daemons.sh)."""

    name = "docker"

    @staticmethod
    def unavailable() -> str | None:
        if not shutil.which("dockerd") or not shutil.which("docker"):
            return "Docker is not installed (bash ../shared/peers/install.sh)"
        return None

    def __init__(self):
        self.started = False
        self.made: list[str] = []
        self.sink = None
        if docker("info", check=False).returncode != 0:
            r = sh("bash", str(PEERS / "daemons.sh"), "start-docker", check=False)
            if r.returncode != 0:
                raise RuntimeError(f"dockerd did not start: {r.stderr.strip()[-200:]}")
            self.started = True
        try:
            if docker("image", "inspect", "busybox:latest", check=False).returncode != 0:
                sh("bash", str(PEERS / "make-busybox.sh"), env=dict(os.environ, IMG_DIR="/tmp/peer-images"))
            docker("network", "create", "a7benchnet")
            docker("run", "-d", "--name", "a7sink", "--network", "a7benchnet", "-p", "127.0.0.1:15001:5001",
                   "busybox", "sleep", "100000")
            docker("run", "-d", "--name", "a7peer", "--network", "a7benchnet", "busybox", "sleep", "100000")
            self.made += ["a7sink", "a7peer"]
            pid = int(docker("inspect", "-f", "{{.State.Pid}}", "a7sink").stdout)
            self.ip = docker("inspect", "-f", "{{.NetworkSettings.Networks.a7benchnet.IPAddress}}",
                             "a7sink").stdout.strip()
            proxy = "docker-proxy" if sh("pgrep", "-x", "docker-proxy", check=False).returncode == 0 else "DNAT"
            self.paths = {"container address": (self.ip, 5001), f"published 127.0.0.1 ({proxy})": ("127.0.0.1", 15001)}
            self.netns = DOCKER_NS
            self.sink = start_sink(pid, 5001)
            peer_pid = int(docker("inspect", "-f", "{{.State.Pid}}", "a7peer").stdout)
            self.dns_enter = ["nsenter", "-t", str(peer_pid), "-n"]
            self.dns_name = "a7sink"
            self.dns_pid = int(Path("/var/run/peers-dockerd.pid").read_text().strip() or 0) \
                if Path("/var/run/peers-dockerd.pid").exists() else 0
            self.names = [f"a7e{i}" for i in range(10)]
            for n in self.names:
                docker("run", "-d", "--name", n, "--network", "a7benchnet", "busybox", "sleep", "100000")
                self.made.append(n)
            self.rep = 0
        except BaseException:
            self.close()
            raise

    def ten(self) -> float:
        self.rep += 1
        net = f"a7ten{self.rep}"
        t = time.perf_counter()
        docker("network", "create", net)
        for n in self.names:
            docker("network", "connect", net, n)
        for n in self.names:
            docker("network", "disconnect", net, n)
        docker("network", "rm", net)
        return time.perf_counter() - t

    def close(self) -> None:
        if self.sink:
            stop_sink(self.sink, self.ip, 5001, DOCKER_NS)
        if self.made:
            docker("rm", "-f", *self.made, check=False)
        docker("network", "rm", "a7benchnet", check=False)
        if self.started:
            sh("bash", str(PEERS / "daemons.sh"), "stop-docker", check=False)


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[int(len(xs) * 0.99)] if xs else float("nan")


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (clock ticks), 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def measure(envs, args) -> dict:
    """Every measurement alternates between the engines, round by round, so the shared machine's
    load falls on both alike."""
    res = {e.name: {"tput": {k: [] for k in e.paths}, "dns": [], "fail": 0, "ten": [], "cpu": 0} for e in envs}
    if "tput" in args.parts:
        for _ in range(args.reps):
            for e in envs:
                for k, (host, port) in e.paths.items():
                    res[e.name]["tput"][k].append(send(host, port, args.nbytes, e.netns))
    if "dns" in args.parts:
        measure_dns(envs, args, res)
    if "busy" in args.parts:
        res[envs[0].name]["busy"] = measure_busy_host(envs[0], args)
    if "ten" in args.parts:
        for _ in range(args.reps):
            for e in envs:
                res[e.name]["ten"].append(e.ten())
    return res


def measure_dns(envs, args, res) -> None:
    rounds = 10
    for _ in range(rounds):
        for e in envs:
            before = cpu_ticks(e.dns_pid)
            d = dns_latency(e.dns_enter, e.dns_name, args.queries // rounds)
            res[e.name]["cpu"] += cpu_ticks(e.dns_pid) - before
            res[e.name]["dns"] += d["lat"]
            res[e.name]["fail"] += d["fail"]
            res[e.name].setdefault("round_p99", []).append(p99(d["lat"]))
    ours = envs[0]
    ours.dns.set_profile(True)
    try:
        d = dns_latency(ours.dns_enter, ours.dns_name, args.queries // 5)
    finally:
        server = ours.dns.set_profile(False) or {}
    res[ours.name]["profile"] = {"client": sorted(d["lat"]), "server": server}


def busy_python(stop: threading.Event) -> None:
    """Stands in for a busy supervisor loop (output pumping, healthchecks): pure Python, GIL held."""
    while not stop.is_set():
        json.dumps({"Id": "x" * 64, "State": {"Running": True, "Pid": 1}, "Log": ["line"] * 20})


def measure_busy_host(ours, args) -> dict:
    """Why the DNS server is a process of its own: the same queries while the process that hosts
    it runs busy Python, with the server as a child process vs as a thread of that process."""
    from engine.network.dns import DnsServer

    out: dict[str, list[float]] = {"own process (as shipped)": [], "thread of the busy process": []}
    for _ in range(3):
        for how in out:
            thread_server = None
            if how.startswith("thread"):
                ours.dns.stop()  # the sockets' address is taken by one server at a time
                thread_server = DnsServer(ours.root, upstreams=[])
                thread_server.start()
            stop = threading.Event()
            hog = threading.Thread(target=busy_python, args=(stop,))
            hog.start()
            try:
                out[how] += dns_latency(ours.dns_enter, ours.dns_name, args.queries // 10)["lat"]
            finally:
                stop.set()
                hog.join()
                if thread_server is not None:
                    thread_server.stop()
                    ours.dns.start()
                    ours.dns_pid = ours.dns.pid
    return out


def print_busy_host(res: dict) -> None:
    print(f"\n2b. DNS latency while the hosting process runs busy Python (pycompose only; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus)")
    for how, lat in res["pycompose"].get("busy", {}).items():
        lat = sorted(lat)
        print(f"   {how:28s} median {lat[len(lat) // 2]:8.1f} us   p99 {lat[int(len(lat) * 0.99)]:8.1f} us   "
              f"({len(lat)} answers)")


def print_dns(res: dict) -> None:
    print(f"\n2. DNS query latency inside a container (UDP to 127.0.0.11, a container's name; rounds alternate; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus)")
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    for name, r in res.items():
        if not r["dns"]:
            continue
        lat = sorted(r["dns"])
        who = "the DNS process" if name == "pycompose" else "dockerd, all of it"
        print(f"   {name:10s} median {lat[len(lat) // 2]:8.1f} us   p99 {p99(lat):8.1f} us   "
              f"median of the rounds' p99 {statistics.median(r['round_p99']):8.1f} us")
        print(f"   {'':10s} ({len(lat)} answers in {len(r['round_p99'])} rounds, {r['fail']} failures; server CPU "
              f"{r['cpu'] * tick_us / max(1, len(lat)):.1f} us/query, {who})")
    prof = res.get("pycompose", {}).get("profile")
    if not prof:
        return
    lat = prof["client"]
    print(f"   pycompose per-query profile (one more round, {len(lat)} queries, timed in the server; the client saw "
          f"median {lat[len(lat) // 2]:.1f} us, p99 {lat[int(len(lat) * 0.99)]:.1f} us):")
    for phase, v in prof["server"].get("phases", {}).items():
        print(f"      {phase:12s} median {v['p50']:8.1f} us   p99 {v['p99']:8.1f} us   max {v['max']:8.1f} us")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(prof["server"].get("counters", {}).items()))
    print(f"      counts: {counts}")
    print("      (waiting = kernel receive timestamp -> read by the server; send includes waking the client)")


def print_tput(res: dict) -> None:
    def gbit(v: float) -> str:
        return f"{v * 8 / 1e9:7.2f} Gbit/s"

    print(f"1. TCP throughput host -> container (median; ratio = median of same-round ratios; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus)")
    for name, r in res.items():
        base = next(iter(r["tput"].values()))
        for k, v in r["tput"].items():
            ratio = statistics.median(a / b for a, b in zip(v, base))
            print(f"   {name:10s} {k:40s} {gbit(statistics.median(v))}  ({ratio:.2f}x of container address)")
    if "docker" in res:
        ours_pub = res["pycompose"]["tput"]["published 127.0.0.1"]
        dock_pub = [v for k, v in res["docker"]["tput"].items() if k != "container address"][0]
        print(f"   pycompose published 127.0.0.1 / docker published 127.0.0.1: "
              f"{statistics.median(a / b for a, b in zip(ours_pub, dock_pub)):.2f}x")


def print_ten(res: dict) -> None:
    print("\n3. create a network, 10 endpoints in, 10 out, remove it (median)")
    for name, r in res.items():
        how = ("create + 10 x prepare/attach + 10 x detach + rm, in-process" if name == "pycompose" else
               "docker network create + 10 connect + 10 disconnect + rm")
        print(f"   {name:10s} {statistics.median(r['ten']) * 1000:8.1f} ms  ({how})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0, help="data per throughput run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--queries", type=int, default=5000, help="DNS queries per engine (in 10 rounds)")
    ap.add_argument("--no-docker", action="store_true")
    ap.add_argument("--parts", default="tput,dns,busy,ten",
                    help="which measurements, comma-separated: tput,dns,busy,ten")
    args = ap.parse_args()
    args.parts = set(args.parts.split(","))
    args.nbytes = int(args.gib * (1 << 30))
    if os.geteuid() != 0:
        print("bench/network.py needs root (namespaces, bridges, nftables)", file=sys.stderr)
        return 1
    print(f"pycompose network benchmark: {args.gib} GiB per throughput run, median of {args.reps}; "
          f"{args.queries} DNS queries\n")
    envs, notes = [], []
    try:
        envs.append(Ours())
        if args.no_docker:
            notes.append("docker: skipped (--no-docker)")
        elif Docker.unavailable():
            notes.append(f"docker: {Docker.unavailable()}")
        else:
            try:
                envs.append(Docker())
            except RuntimeError as e:
                notes.append(f"docker: {e}")
        res = measure(envs, args)
    finally:
        for e in envs:
            e.close()

    if "tput" in args.parts:
        print_tput(res)
    if "dns" in args.parts:
        print_dns(res)
    if "busy" in args.parts:
        print_busy_host(res)
    if "ten" in args.parts:
        print_ten(res)
    for n in notes:
        print(f"\n{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
