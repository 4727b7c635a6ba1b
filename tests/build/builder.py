"""The build tests' helpers: a Builder writing context dirs and building them through engine.api,
and readers of the BuildKit-like progress events a build emits (tests/build/conftest.py's ``bld``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.api import Engine

REPO = Path(__file__).resolve().parents[2]


class Builder:
    """Builds from a dict of context files; remembers images to remove."""

    def __init__(self, eng: Engine, tmp: Path):
        self.eng, self.tmp, self.tags = eng, tmp, []

    def context(self, files: dict[str, str | bytes], name: str = "ctx") -> Path:
        ctx = self.tmp / name
        for rel, content in files.items():
            p = ctx / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return ctx

    def build(self, ctx: Path, tag: str | None = None, **kw) -> tuple[str, list[dict]]:
        events: list[dict] = []
        tags = [tag] if tag else []
        self.tags += tags
        iid = self.eng.images.build(str(ctx), tags=tags, progress=events.append, **kw)
        return iid, events

    def run(self, image: str, *cmd: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYCOMPOSE_ROOT=str(self.eng.root.path))
        return subprocess.run([sys.executable, "-m", "compose.cli.main", "container", "run", "--rm", "--network",
                               "none", image, *cmd], capture_output=True, text=True, env=env, cwd=REPO,
                              timeout=120)

    def remove_tagged(self) -> None:
        """Remove every image tagged by this builder (the ones already gone are skipped)."""
        for t in self.tags:
            try:
                self.eng.images.remove(t, force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


def steps(events: list[dict]) -> dict[str, bool]:
    """Step vertex name -> cached?"""
    names = {e["vertex"]: e["name"] for e in events if "name" in e}
    cached = {e["vertex"] for e in events if e.get("cached")}
    return {n: v in cached for v, n in names.items() if "/" in n.split("]")[0] and "FROM" not in n}


def logs(events: list[dict]) -> str:
    return b"".join(e["log"] for e in events if "log" in e).decode()
