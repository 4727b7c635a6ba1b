"""Helpers for the end-to-end tests: drive the ``pycompose`` command as a subprocess.

Each test gets a unique project name and a finalizer that runs ``down -v``
(and removes one-off containers), so nothing is left behind for the leak check.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


class Compose:
    """``pycompose -p <unique> ...`` in a fixture directory, against the session data root."""

    def __init__(self, root: Path, scenario: str):
        self.root = root
        self.dir = FIXTURES / scenario
        self.project = f"e2e{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYTHONPATH=str(REPO))
        self.env.pop("PYCOMPOSE_DEBUG", None)

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "compose.cli.main", "-p", self.project, *args]

    def run(self, *args: str, check: bool = False, timeout: float = 120, env: dict | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
        r = subprocess.run(self.cmd(*args), cwd=self.dir, env=dict(self.env, **(env or {})), capture_output=True,
                           text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"pycompose {' '.join(args)} -> {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        assert "Traceback" not in r.stderr, r.stderr
        return r

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.cmd(*args), cwd=self.dir, env=dict(self.env, **(env or {})),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ps(self, *extra: str) -> list[dict]:
        out = self.run("ps", "--format", "json", *extra, check=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def inspect(self, name: str) -> dict:
        from engine.api import Engine

        return Engine(str(self.root)).containers.inspect(name)

    def engine(self):
        from engine.api import Engine

        return Engine(str(self.root))

    def down(self) -> None:
        subprocess.run(self.cmd("down", "-v", "--remove-orphans", "-t", "1"), cwd=self.dir, env=self.env,
                       capture_output=True, timeout=120)


@pytest.fixture
def compose_factory(session_root, busybox):
    made: list[Compose] = []

    def make(scenario: str) -> Compose:
        c = Compose(session_root, scenario)
        made.append(c)
        return c

    yield make
    for c in made:
        c.down()
