"""The pycompose CLI as a subprocess in tests: a runner bound to one data root that removes the
containers and images it named, and the check of docker's one-line errors."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Cli:
    """``pycompose PREFIX... ARGS`` (text in and out) with PYCOMPOSE_ROOT=``root``.

    ``name()`` hands out fresh container names and ``images`` collects image references:
    ``cleanup()`` force-removes both (containers with their volumes)."""

    def __init__(self, root: Path, *prefix: str, name_prefix: str = "pyc-cli"):
        self.env = dict(os.environ, PYCOMPOSE_ROOT=str(root))
        self.env.pop("PYCOMPOSE_DEBUG", None)
        self.prefix, self.name_prefix = prefix, name_prefix
        self.names: list[str] = []
        self.images: list[str] = []

    def run(self, *args: str, input=None, check: bool = False, timeout: float = 120):
        """``pycompose ARGS``, without the prefix."""
        return subprocess.run([sys.executable, "-m", "compose.cli.main", *args], input=input, capture_output=True,
                              text=True, env=self.env, cwd=REPO, timeout=timeout, check=check)

    def __call__(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(*self.prefix, *args, **kw)

    def spawn(self, *args: str, **popen) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "compose.cli.main", *self.prefix, *args], env=self.env,
                                cwd=REPO, **popen)

    def name(self, prefix: str | None = None) -> str:
        n = f"{prefix or self.name_prefix}-{secrets.token_hex(4)}"
        self.names.append(n)
        return n

    def cleanup(self) -> None:
        for n in self.names:
            self.run("container", "rm", "-f", "-v", n)
        for i in self.images:
            self.run("image", "rm", "-f", i)


def assert_one_line_error(r: subprocess.CompletedProcess, message: str) -> None:
    """Docker's way of refusing: exit 1 and one non-blank stderr line saying ``message``, no traceback."""
    assert r.returncode == 1
    err = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and message in err[0], r.stderr
    assert "Traceback" not in r.stderr
