"""The scratch dir of a running build step, and the sweep of steps whose builder died.

Why: ``run_step`` undoes everything it made in a ``finally``, but a builder killed
with SIGKILL (or a machine that loses power mid-step) runs no ``finally``. Each
step therefore holds an ``flock`` on ``$ROOT/build/steps/<id>/lock`` while it lives;
the dir appears under its final name only with the lock already held, so a step
whose lock can be taken is dead. The next ``run_step`` sweeps such steps: kills
what is left in their cgroup, removes it, releases their network endpoint and
deletes their files.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from engine.state import DataRoot


def steps_dir(root: DataRoot) -> Path:
    return root.dir("build", "steps")


def claim(root: DataRoot, step_id: str) -> tuple[Path, int]:
    """Create the step's dir, locked; returns (dir, lock fd). The lock goes with ``release``."""
    base = steps_dir(root)
    tmp = Path(tempfile.mkdtemp(dir=base, prefix=f".new-{step_id[:12]}-"))
    fd = os.open(tmp / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        final = base / step_id
        os.rename(tmp, final)
    except BaseException:
        os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, fd


def release(path: Path, fd: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    os.close(fd)


def lock_held(lock: Path, create: bool = False) -> bool | None:
    """True while a live process holds the flock of file ``lock`` (a step, a cache mount in use), False
    when nobody does, None when it cannot be opened (without ``create``: it is being released)."""
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0), 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _is_dead(path: Path) -> bool:
    return lock_held(path / "lock") is False


def sweep(root: DataRoot) -> list[str]:
    """Undo what dead steps left (cgroup, endpoint, files); returns their ids."""
    try:
        names = [n for n in os.listdir(steps_dir(root)) if len(n) == 64 and not n.startswith(".")]
    except FileNotFoundError:
        return []
    swept = []
    for sid in names:
        path = steps_dir(root) / sid
        if not _is_dead(path):
            continue
        _undo(root, sid)
        shutil.rmtree(path, ignore_errors=True)
        swept.append(sid)
    return swept


def _undo(root: DataRoot, sid: str) -> None:
    from engine.cgroups import container_cgroup

    with contextlib.suppress(Exception):
        cg = container_cgroup(sid)
        if cg.exists():
            cg.kill_all()
            cg.destroy(10.0)
    if (root.path / "networks" / "endpoints" / f"{sid}.json").exists():
        from engine.network import NetworkManager

        with contextlib.suppress(Exception):
            NetworkManager(root).forget(sid)
    shutil.rmtree(root.path / "containers" / sid, ignore_errors=True)
