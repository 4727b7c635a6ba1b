"""``pycompose volume ...`` through real subprocesses with their own PYCOMPOSE_ROOT."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pycli import assert_one_line_error

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, PYCOMPOSE_ROOT=str(tmp_path / "root"), PYTHONPATH=str(REPO))


def pc(env, *args, input=None):
    return subprocess.run([sys.executable, "-m", "compose.cli.main", "volume", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, input=input)


def test_create_ls_inspect_rm(env, tmp_path):
    assert pc(env, "create", "data", "--label", "team=core").stdout == "data\n"
    anon = pc(env, "create").stdout.strip()
    assert len(anon) == 64
    r = pc(env, "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "--name", "scratch")
    assert r.stdout == "scratch\n"
    lines = pc(env, "ls").stdout.splitlines()
    assert lines[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert sorted(l.split()[1] for l in lines[1:]) == sorted([anon, "data", "scratch"])
    assert pc(env, "ls", "-q", "--filter", "label=team=core").stdout == "data\n"
    rows = [json.loads(l) for l in pc(env, "ls", "--format", "json").stdout.splitlines()]
    assert {r["Name"]: r["Labels"] for r in rows}["data"] == "team=core"
    insp = json.loads(pc(env, "inspect", "data", "scratch").stdout)
    assert insp[0]["Mountpoint"] == str(tmp_path / "root/volumes/data/_data")
    assert insp[0]["Labels"] == {"team": "core"} and insp[0]["Scope"] == "local"
    assert insp[1]["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
    assert pc(env, "inspect", "-f", "{{.Driver}} {{.Name}}", "data").stdout == "local data\n"
    assert pc(env, "rm", "data", "scratch").stdout == "data\nscratch\n"
    assert pc(env, "ls", "-q").stdout == anon + "\n"
    assert pc(env, "rm", "-f", "nothere").returncode == 0


def test_prune(env):
    pc(env, "create", "named")
    anon = pc(env, "create").stdout.strip()
    r = pc(env, "prune", input="n\n")
    assert "WARNING! This will remove anonymous local volumes" in r.stdout and "Deleted" not in r.stdout
    r = pc(env, "prune", "-f")
    assert r.stdout == f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n"
    r = pc(env, "prune", "-a", "-f")
    assert "named" in r.stdout
    assert pc(env, "ls", "-q").stdout == ""


@pytest.mark.parametrize("args, message", [
    (["create", "a b"], "includes invalid characters for a local volume name"),
    (["create", "-o", "bogus=1", "xy"], 'invalid option key: "bogus"'),
    (["create", "-d", "flocker", "xy"], "plugin"),
    (["inspect", "nope"], "no such volume"),
    (["rm", "nope"], "no such volume"),
    (["ls", "--filter", "color=red"], "invalid filter 'color'"),
])
def test_errors_are_one_line_exit_1(env, args, message):
    assert_one_line_error(pc(env, *args), message)
