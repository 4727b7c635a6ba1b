"""``Engine(root)``: all engine objects of one data root, the supervisor client, locks, events.

Why here: ``.images .containers .volumes .networks`` are built on first use, so ``pycompose
container ls`` never imports the image or network machinery; each lives in its own module of
this package.
"""
from __future__ import annotations

import contextlib
import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator

from engine.containers import ContainerStore
from engine.errors import EngineError, InvalidArgument
from engine.state import DataRoot

if TYPE_CHECKING:
    from engine.api.containers import Containers
    from engine.api.images import Images
    from engine.api.networks import Networks
    from engine.api.volumes import Volumes

__all__ = ["Engine"]

_LOCK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


class _Resource:
    """``Engine.images`` and its siblings: built on first use from their module and kept on the
    engine (like functools.cached_property), so ``pycompose container ls`` never imports the image
    or network machinery."""

    def __init__(self, module: str, cls: str):
        self.module, self.cls = module, cls

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, engine: "Engine | None", owner: type | None = None):
        if engine is None:
            return self
        import importlib

        value = getattr(importlib.import_module(self.module), self.cls)(engine)
        engine.__dict__[self.name] = value  # the instance attribute wins from now on
        return value


class Engine:
    """All engine objects of one data root (``$PYCOMPOSE_ROOT`` or /var/lib/pycompose)."""

    def __init__(self, root: str | os.PathLike | DataRoot | None = None):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self._store = ContainerStore(self.root)  # the container records, for engine.api's resources only

    def __repr__(self) -> str:
        return f"Engine({str(self.root.path)!r})"

    images: "Images" = _Resource("engine.api.images", "Images")
    containers: "Containers" = _Resource("engine.api.containers", "Containers")
    volumes: "Volumes" = _Resource("engine.api.volumes", "Volumes")
    networks: "Networks" = _Resource("engine.api.networks", "Networks")

    @cached_property
    def supervisor(self):
        """The client of this root's supervisor (started on first use by its own methods)."""
        from engine.supervisor.client import SupervisorClient

        return SupervisorClient(self.root.path)

    def lock(self, name: str, on_busy: Callable[[int | None], None] | None = None) -> ContextManager[None]:
        """An exclusive lock named ``name`` under the data root for a ``with`` block, released when the
        holder exits or dies (flock). ``on_busy(holder pid or None)`` is told once before waiting.
        Compose holds ``project-<name>`` while it changes a project, so two commands on one project
        run one after the other instead of making two containers for one replica."""
        if not isinstance(name, str) or not _LOCK_NAME.fullmatch(name):
            raise InvalidArgument(f"invalid lock name {name!r}")
        return self.root.exclusive(name, on_busy)

    def supervisor_running(self) -> bool:
        """True when this root's supervisor process is alive (checked by its pid file)."""
        pid_file = self.root.path / "run" / "supervisor.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"pycompose-supervisor" in cmd or b"pycompose-sup" in cmd

    def events(self, filters: dict[str, list[str]] | None = None, since: Any = None,
               until: Any = None) -> Iterator[dict]:
        """Docker events (Type, Action, Actor{ID, Attributes}, time, timeNano), pushed as they happen."""
        return self.supervisor.events(filters=filters, since=since, until=until)

    def notify(self, event: dict) -> None:
        """Publish an event the API itself causes (create, destroy, rename) when a supervisor runs:
        one request that never starts one (its socket refuses it when none runs), without reading
        the pid file and /proc first (~0.3 ms of each create and remove)."""
        with contextlib.suppress(Exception):
            self.supervisor.notify(event)

    def revive(self, states: Iterator[dict]) -> bool:
        """Start the supervisor when a record says a container runs but no supervisor does (it was
        killed, or the machine rebooted): it re-adopts the living, records the dead as exited and
        applies restart policies. True when it did, so the caller reads the states again; without
        it ``ps`` would show dead containers as running and ``logs`` would wait on a pipe nobody
        reads. Costs a pid-file read when all is well."""
        if not any(st.get("Running") or st.get("Restarting") for st in states) or self.supervisor_running():
            return False
        try:
            self.supervisor.ensure_running()
        except EngineError:  # e.g. not root: show the records as they are
            return False
        return True

    def shutdown(self) -> None:
        """Stop every container of this data root, then its supervisor (tests, uninstall)."""
        if not self.supervisor_running():
            return
        self.supervisor.shutdown()

    def login(self, server: str | None, username: str | None, password: str | None) -> dict:
        """``docker login``: verify against the registry, store in Docker's config.json; {"Status": ...}."""
        from engine.registry import login as login_mod

        return login_mod.login(server, username, password)

    def logout(self, server: str | None) -> str:
        """``docker logout``: forget the stored credentials; returns the server logged out of."""
        from engine.registry import login as login_mod

        return login_mod.logout(server)

