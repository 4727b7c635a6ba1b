"""Helpers for the fault tests (tests/faults/): a data root of their own, a project driven through the CLI, and
an inventory of everything one data root holds (records, kernel objects, supervisor state), so
a test can assert that nothing of it is left after ``down -v``.

The inventory is scoped to the test's own data root (its containers' cgroups and veths, its
networks' bridges, its nft table, mounts under it): teammates run other tests at the same time
and their objects are not ours to count.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_busybox(root: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "make-test-image")], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, PYCOMPOSE_ROOT=str(root)))


class Project:
    """``pycompose -p NAME`` on a compose file written into a temporary project directory."""

    def __init__(self, root: Path, workdir: Path, compose_yaml: str, name: str | None = None):
        self.root = root
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "compose.yaml").write_text(compose_yaml)
        self.name = name or f"flt{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYTHONPATH=str(REPO))
        self.env.pop("PYCOMPOSE_DEBUG", None)

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "compose.cli.main", "-p", self.name, *args]

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        r = subprocess.run(self.cmd(*args), cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        assert "Traceback" not in r.stderr, r.stderr
        if check and r.returncode != 0:
            raise AssertionError(f"pycompose {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.cmd(*args), cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def ps(self) -> list[dict]:
        out = self.run("ps", "-a", "--format", "json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def engine(self):
        from engine.api import Engine

        return Engine(str(self.root))


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _nft_tables() -> set[str]:
    try:
        out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.split()[-1] for line in out.splitlines() if line.startswith("table")}


class Inventory:
    """What one data root holds. ``seen`` remembers every container and network id ever listed,
    so the kernel objects derived from them are still checked after their records are gone."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.cids: set[str] = set()
        self.nets: set[str] = set()

    def note(self) -> None:
        """Remember the ids the root holds now (call before ``down``)."""
        self.cids.update(n for n in os.listdir(self.root / "containers") if len(n) == 64)
        for p in (self.root / "networks").glob("*.json"):
            self.nets.add(p.stem)

    def residue(self, project: str | None = None) -> list[str]:
        """Everything still held: must be [] once a project is down (``project``: its objects only
        among the records; every kernel object of the root counts)."""
        from engine.network import names
        from engine.network.nft import table_name

        self.note()
        left: list[str] = []
        for name in sorted(os.listdir(self.root / "containers")):  # complete records or half-made ones
            left.append(f"container dir {name[:18]}")
        for cid in sorted(self.cids):
            for d in glob.glob(f"/sys/fs/cgroup/*/pycompose/{cid}") + glob.glob(f"/sys/fs/cgroup/pycompose/{cid}"):
                left.append(f"cgroup {d}")
        links = _links()
        for nid in sorted(self.nets):
            rec = _read(self.root / "networks" / f"{nid}.json")
            if rec and rec.get("Name") in ("bridge", "host", "none") and names.bridge_name(nid) not in links:
                continue  # the predefined networks: records only, a bridge only while in use
            if rec and (project is None or (rec.get("Labels") or {}).get("com.docker.compose.project") == project):
                left.append(f"network {rec.get('Name')}")
            if names.bridge_name(nid) in links and (rec is None or project is None or
                                                    (rec.get("Labels") or {}).get("com.docker.compose.project")
                                                    == project):
                left.append(f"bridge {names.bridge_name(nid)}")
            for cid in self.cids:
                if names.veth_name(nid, cid) in links:
                    left.append(f"veth {names.veth_name(nid, cid)}")
        for ep in (self.root / "networks" / "endpoints").glob("*.json") if (self.root / "networks" / "endpoints").exists() else []:
            left.append(f"endpoint {ep.stem[:12]}")
        for v in (self.root / "volumes").iterdir() if (self.root / "volumes").exists() else []:
            meta = _read(v / "volume.json") or {}
            if project is None or (meta.get("Labels") or {}).get("com.docker.compose.project") == project \
                    or "com.docker.volume.anonymous" in (meta.get("Labels") or {}):
                left.append(f"volume {v.name}")
        if table_name(str(self.root)) in _nft_tables():
            left.append(f"nft table {table_name(str(self.root))}")
        with open("/proc/self/mountinfo") as f:
            for line in f:
                if str(self.root) in line.split()[4]:
                    left.append(f"mount {line.split()[4]}")
        left += self.supervisor_residue()
        return left

    def supervisor_residue(self) -> list[str]:
        from engine.supervisor.client import SupervisorClient

        try:
            st = SupervisorClient(self.root).status()
        except (OSError, Exception):  # noqa: BLE001 - no supervisor running holds nothing
            return []
        return [f"supervisor {k}={st[k]}" for k in ("boxes", "running", "dns_containers") if st.get(k)]


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
