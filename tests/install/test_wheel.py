"""pycompose as users install it: a wheel in a fresh venv, run from outside the checkout.

The rest of the suite imports the source tree, so a file that the package forgets to ship
(the compose-spec schema once) goes unnoticed there. Here the wheel is built, installed with
its dependencies into a new venv under /tmp, and only that venv's ``pycompose`` is run, with
the working directory outside the repository: the oracle comparison of ``config`` and one
``up``/``down`` of examples/quickstart with a reachable page.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPARE = REPO.parent / "shared" / "oracle" / "compare.py"


def _clean_env(**extra: str) -> dict:
    """The environment of a user's shell: no PYTHONPATH into the checkout, bytecode allowed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed() -> Path:
    """A venv under /tmp with the freshly built wheel installed; yields its bin/ directory."""
    work = Path(tempfile.mkdtemp(prefix="pyc-wheel-", dir="/tmp"))
    try:
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(REPO)],
                       check=True, capture_output=True, text=True, timeout=600, cwd=work)
        wheel = next((work / "dist").glob("pycompose-*.whl"))
        subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=300)
        r = subprocess.run([str(work / "venv" / "bin" / "pip"), "install", "-q", str(wheel)],
                           capture_output=True, text=True, timeout=600, cwd=work, env=_clean_env())
        assert r.returncode == 0, r.stderr
        yield work / "venv" / "bin"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_installed_package_ships_its_data_and_bytecode(installed):
    site = next((installed.parent / "lib").glob("python3*/site-packages"))
    assert (site / "compose" / "loader" / "compose-spec.json").is_file()
    assert not (site / "compose" / "loader" / "compose-spec.json").is_symlink()
    # pip compiles at install, so no command pays for compiling on start-up
    assert list((site / "compose" / "cli" / "__pycache__").glob("main.*.pyc"))
    assert list((site / "engine" / "__pycache__").glob("errors.*.pyc"))
    r = subprocess.run([str(installed / "pycompose"), "--version"], capture_output=True, text=True,
                       cwd="/", env=_clean_env())
    assert r.returncode == 0 and "pycompose" in r.stdout.lower(), r.stdout + r.stderr


@pytest.mark.timeout(1500)  # 510 cases, one process each (the in-process oracle test adds --lists)
def test_installed_config_matches_docker_compose_on_the_oracle(installed):
    assert COMPARE.is_file(), f"the oracle is missing: {COMPARE} (../shared beside the checkout)"
    r = subprocess.run([sys.executable, str(COMPARE), "--cmd", f"{installed / 'pycompose'} {{args}}"],
                       capture_output=True, text=True, timeout=1200, cwd="/tmp", env=_clean_env())
    summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr
    assert r.returncode == 0 and summary.endswith(" 0 failed"), summary + "\n" + r.stdout[-3000:]
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.root
def test_installed_up_serves_the_quickstart_page_and_down_cleans(installed, busybox):
    root = Path(tempfile.mkdtemp(prefix="pyc-test-wheel-", dir="/tmp"))
    project = Path(tempfile.mkdtemp(prefix="pyc-wheel-qs-", dir="/tmp")) / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", project)
    env = _clean_env(PYCOMPOSE_ROOT=str(root))
    pyc = str(installed / "pycompose")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        r = subprocess.run([pyc, *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
        assert "Traceback" not in r.stderr, r.stderr
        return r

    try:
        r = run("image", "load", "-i", "/tmp/pycompose-busybox.tar")
        assert r.returncode == 0, r.stderr
        r = run("up", "-d", "--wait")
        assert r.returncode == 0, r.stdout + r.stderr
        page = b""
        for _ in range(50):
            try:
                page = urllib.request.urlopen("http://127.0.0.1:8080/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"Hello from pycompose" in page
        r = run("down", "-v", "-t", "1")
        assert r.returncode == 0, r.stderr
        assert run("ps", "-a", "-q").stdout.strip() == ""
    finally:
        run("down", "-v", "-t", "1")
        from engine.api import Engine  # the checkout's engine talks to the installed supervisor's socket

        Engine(str(root)).shutdown()
        shutil.rmtree(project.parent, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
