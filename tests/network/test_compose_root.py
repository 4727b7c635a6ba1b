"""Networks through ``pycompose up``/``down`` (compose layer + engine): two projects from the same
file side by side, names, aliases and replicas, internal network, random published port."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent / "fixtures" / "netproj"


class Project:
    def __init__(self, root: Path):
        self.name = f"net{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYTHONPATH=str(REPO))
        self.env.pop("PYCOMPOSE_DEBUG", None)

    def run(self, *args, check=True) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "compose.cli.main", "-p", self.name, *args], cwd=HERE,
                           env=self.env, capture_output=True, text=True, timeout=180)
        assert "Traceback" not in r.stderr, r.stderr
        if check:
            assert r.returncode == 0, f"{args}: {r.stderr}"
        return r

    def sh(self, service: str, script: str, index: int = 1) -> subprocess.CompletedProcess:
        return self.run("exec", "-T", "--index", str(index), service, "sh", "-c", script, check=False)


@pytest.fixture
def projects(session_root, busybox, no_net_leaks):
    from engine.network import NetworkManager

    made: list[Project] = []

    def make() -> Project:
        p = Project(session_root)
        made.append(p)
        return p
    yield make
    no_net_leaks.note(NetworkManager(str(session_root)))
    for p in made:
        p.run("down", "-t", "1", check=False)


def ip_of(project: Project, container: str, net: str) -> str:
    from engine.api import Engine

    info = Engine(project.env["PYCOMPOSE_ROOT"]).containers.inspect(container)
    return info["NetworkSettings"]["Networks"][net]["IPAddress"]


def test_two_projects_side_by_side_with_names_aliases_replicas_and_ports(projects):
    a, b = projects(), projects()
    a.run("up", "-d")
    b.run("up", "-d")
    for p, other in ((a, b), (b, a)):
        front, back = f"{p.name}_front", f"{p.name}_back"
        web_ip = ip_of(p, f"{p.name}-web-1", front)
        out = p.sh("client", "nslookup web 127.0.0.11; nslookup www 127.0.0.11").stdout
        assert out.count(web_ip) == 2 and ip_of(other, f"{other.name}-web-1", f"{other.name}_front") not in out
        r = p.sh("client", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://web/ && exit 0; sleep 0.3; done; exit 1")
        assert r.returncode == 0 and "busybox" in r.stdout
        reps = p.sh("client", "nslookup rep 127.0.0.11").stdout
        assert ip_of(p, f"{p.name}-rep-1", front) in reps and ip_of(p, f"{p.name}-rep-2", front) in reps
        assert "NXDOMAIN" in p.sh("client", "nslookup db 127.0.0.11").stdout  # db is only on back
        assert ip_of(p, f"{p.name}-db-1", back) in p.sh("web", "nslookup db 127.0.0.11").stdout
        assert "default" not in p.sh("db", "ip route").stdout  # internal: no way out
    port = a.run("port", "web", "80").stdout.strip()
    assert port.startswith("127.0.0.1:") and int(port.split(":")[1]) > 0
    page = urllib.request.urlopen(f"http://{port}/", timeout=10).read().decode()
    assert "busybox" in page
    a.run("down", "-t", "1")
    ls = subprocess.run([sys.executable, "-m", "compose.cli.main", "network", "ls", "-q", "--filter",
                         f"label=com.docker.compose.project={a.name}"], env=a.env, capture_output=True, text=True)
    assert ls.stdout.strip() == ""
    assert b.sh("client", "wget -q -O - http://www/").returncode == 0  # b untouched by a's down
