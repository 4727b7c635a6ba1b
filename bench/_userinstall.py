"""pycompose installed the way a user has it, for start-up benchmarks.

Why: the checkout runs through an editable install (a path finder in a ``.pth``) with this
machine's own ``site`` extras loaded at every start; a user has neither. So the benchmark
builds the wheel, installs it with its dependencies into a venv under /tmp made with the same
interpreter (no --system-site-packages, so no machine ``.pth`` is read), compiles its bytecode
and calls that venv's ``bin/pycompose``. The venv is kept between runs, keyed by a hash of the
wheel's contents (zip timestamps left out), so a second run costs one wheel build.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

PREFIX = "pyc-bench-venv-"


def wheel_key(wheel: Path) -> str:
    """A hash of the wheel's file names and contents: the same sources give the same key."""
    h = hashlib.sha256()
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            h.update(name.encode() + b"\0" + z.read(name) + b"\0")
    return h.hexdigest()[:16]


def build_wheel(repo: Path, python: str, out: Path) -> Path:
    """The project's wheel, built as pip would (an isolated build env)."""
    subprocess.run([python, "-m", "build", "--wheel", "--outdir", str(out), str(repo)],
                   check=True, capture_output=True, text=True, timeout=600, cwd=out)
    return next(out.glob("pycompose-*.whl"))


def user_env(base: dict) -> dict:
    """A user's shell: no PYTHONPATH into the checkout, bytecode allowed."""
    return {k: v for k, v in base.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}


def ensure_venv(repo: Path, python: str, tmp: Path = Path("/tmp")) -> tuple[Path, str, bool]:
    """(the venv, its key, reused) for the current sources; older venvs of this bench are removed."""
    with tempfile.TemporaryDirectory(prefix="pyc-bench-wheel-") as work:
        wheel = build_wheel(repo, python, Path(work))
        key = wheel_key(wheel)
        venv = tmp / (PREFIX + key)
        if (venv / ".complete").exists():
            return venv, key, True
        shutil.rmtree(venv, ignore_errors=True)
        env = user_env(dict(os.environ))
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300, env=env)
        r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], timeout=900, env=env,
                           cwd=work, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"pip install of {wheel.name} failed:\n{r.stderr[-3000:]}")
    site = next((venv / "lib").glob("python3*/site-packages"))
    subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(site)],
                   stdout=subprocess.DEVNULL, env=env)
    (venv / ".complete").write_text(key + "\n")
    for old in tmp.glob(PREFIX + "*"):
        if old != venv:
            shutil.rmtree(old, ignore_errors=True)
    return venv, key, False
