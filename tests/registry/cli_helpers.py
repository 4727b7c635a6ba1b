"""Run the ``pycompose`` command in a subprocess against a test's data root and client config."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pycompose(*args: str, cwd: str | Path | None = None, input: str | None = None, timeout: float = 180,
              check: bool = False) -> subprocess.CompletedProcess:
    """``pycompose ARGS`` with the environment of the test (PYCOMPOSE_ROOT, DOCKER_CONFIG, ...)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PYCOMPOSE_DEBUG", None)
    r = subprocess.run([sys.executable, "-m", "compose.cli.main", *args], cwd=cwd, env=env, input=input,
                       capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    if check and r.returncode != 0:
        raise AssertionError(f"pycompose {' '.join(args)} -> {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def pulled_images(output: str) -> list[str]:
    """The images a compose command says it pulled (`` Image X  Pulled`` lines of plain progress)."""
    return re.findall(r"^ Image (\S+)  Pulled$", output, re.M)
