"""The depends_on init container really waits: its script, run as written into the manifest.

The generated wait container (busybox ``sh -c``) is run with Debian's busybox in a private
mount namespace whose /etc/resolv.conf points at a DNS server this test runs on a loopback
address (standing in for the cluster DNS: no cluster here). While the server answers
NXDOMAIN, as CoreDNS does for a headless Service without ready endpoints, the script keeps
waiting; once the name resolves, it exits 0 and the pod would start.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from test_kube_support import convert_dir

pytestmark = pytest.mark.root

COMPOSE = """
services:
  db:
    image: postgres
    healthcheck: {test: ["CMD", "pg_isready"]}
  api:
    image: app
    depends_on: {db: {condition: CONDITION}}
"""


class FakeClusterDNS:
    """Answers A queries for ``name`` once ``ready`` is set, NXDOMAIN for everything before."""

    def __init__(self, address: str, name: str):
        self.name, self.ready, self.asked = name, threading.Event(), []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 53))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            q = DNSRecord.parse(data)
            qname = str(q.q.qname).rstrip(".")
            self.asked.append(qname)
            reply = q.reply()
            if qname == self.name and self.ready.is_set():
                if q.q.qtype == QTYPE.A:
                    reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("10.42.0.7"), ttl=5))
            else:
                reply.header.rcode = RCODE.NXDOMAIN
            self.sock.sendto(reply.pack(), peer)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize("condition,name", [("service_healthy", "db-ready"), ("service_started", "db-pods")])
def test_wait_blocks_until_the_dependency_name_resolves(tmp_path, condition, name):
    busybox = shutil.which("busybox")
    unshare = shutil.which("unshare")
    assert busybox and unshare, "busybox and unshare (util-linux) are needed"
    (tmp_path / "compose.yaml").write_text(COMPOSE.replace("CONDITION", condition))
    _files, bundle = convert_dir(str(tmp_path), ["-p", "shop"], environ={"PATH": "/usr/bin:/bin"})
    api = next(o for _s, o in bundle.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "api")
    [wait] = api["spec"]["template"]["spec"]["initContainers"]
    env = {e["name"]: e.get("value") for e in wait["env"]}
    env["NAMESPACE"] = "shop"             # the downward API's metadata.namespace
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for applet in ("sh", "nslookup", "sleep", "mount"):
        os.symlink(busybox, bindir / applet)
    (tmp_path / "resolv.conf").write_text("nameserver 127.88.0.53\n")
    dns = FakeClusterDNS("127.88.0.53", f"{name}.shop.svc.cluster.local")
    proc = None
    try:
        inner = 'mount --bind "$RESOLV" /etc/resolv.conf && exec "$@"'
        proc = subprocess.Popen(
            [unshare, "-m", "--propagation", "private", str(bindir / "sh"), "-c", inner, "wait",
             *wait["command"]],
            env={**env, "PATH": str(bindir), "RESOLV": str(tmp_path / "resolv.conf")},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = proc.stdout.readline()
        assert first.strip() == f"waiting for {name}"         # NXDOMAIN: still waiting
        assert proc.poll() is None
        dns.ready.set()                                          # db runs (started) / passed readiness
        rest, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, rest
        assert f"{name}.shop.svc.cluster.local" in dns.asked
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        dns.close()
