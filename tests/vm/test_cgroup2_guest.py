"""What only the cgroup v2 guest (scripts/test-cgroup2-vm) can show: the host has nothing but
the unified hierarchy, and examples/quickstart comes up (--wait: healthy) and goes down (-v)
with each container in its own v2 group, which is gone afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not os.environ.get("PYCOMPOSE_VM_GUEST"),
                                 reason="runs in the cgroup v2 guest of scripts/test-cgroup2-vm")]
REPO = Path(__file__).resolve().parents[2]


def test_only_the_unified_hierarchy_is_mounted():
    types = [line.split()[2] for line in Path("/proc/self/mounts").read_text().splitlines()]
    assert "cgroup" not in types
    assert Path("/sys/fs/cgroup/cgroup.controllers").exists()
    assert {"cpu", "io", "memory", "pids"} <= set(Path("/sys/fs/cgroup/cgroup.subtree_control").read_text().split())


def _compose(env, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "compose.cli.main", *args], cwd=REPO / "examples" / "quickstart",
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_quickstart_up_wait_and_down_v(session_root, busybox):
    from engine.api import Engine

    env = dict(os.environ, PYCOMPOSE_ROOT=str(session_root), PYTHONPATH=str(REPO))
    eng = Engine(str(session_root))
    groups: list[Path] = []
    try:
        up = _compose(env, "up", "-d", "--wait")
        assert up.returncode == 0, up.stderr
        assert "Traceback" not in up.stderr
        ps = _compose(env, "ps")
        assert "(healthy)" in ps.stdout, ps.stdout
        with urllib.request.urlopen("http://127.0.0.1:8080/", timeout=60) as r:
            assert b"Hello from pycompose" in r.read()
        # run from inside the guest's delegated service, the groups stay in its subtree (tests/vm/guest-run.sh)
        own = Path("/proc/self/cgroup").read_text().strip()[3:]
        inside = "/system.slice/pycompose.service/pycompose/" if own.startswith("/system.slice/pycompose.service") \
            else "0::/pycompose/"
        mine = [c for c in eng.containers.list() if c["Labels"].get("com.docker.compose.project") == "quickstart"]
        assert len(mine) == 2
        for c in mine:
            pid = eng.containers.inspect(c["Id"])["State"]["Pid"]
            line = Path(f"/proc/{pid}/cgroup").read_text().strip()
            assert line.startswith("0::/") and line.endswith(f"{inside}{c['Id']}"), line
            groups.append(Path("/sys/fs/cgroup") / line[4:])
            assert (groups[-1] / "memory.current").exists() and (groups[-1] / "pids.current").exists()
    finally:
        down = _compose(env, "down", "-v")
    assert down.returncode == 0, down.stderr
    assert [c for c in eng.containers.list(all=True)
            if c["Labels"].get("com.docker.compose.project") == "quickstart"] == []
    assert groups and not any(g.exists() for g in groups)
