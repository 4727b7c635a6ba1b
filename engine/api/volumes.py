"""``Engine.volumes``: named volumes; a volume is in use while a container record mounts it."""
from __future__ import annotations

from engine import containerview as view
from engine.api._resource import EngineResource

__all__ = ["Volumes"]


class Volumes(EngineResource):
    """``engine.volumes.VolumeStore``; a volume is in use while a container record mounts it."""

    def _open(self, engine) -> None:
        from engine.volumes import VolumeStore

        self._store = VolumeStore(engine.root)

    def users(self, name: str) -> list[str]:
        """Ids of the containers (running or not) whose mounts name volume ``name``."""
        out = []
        for rec in self._engine._store.records():
            if name in view.volume_names(rec, rec.get("Config") or {}):
                out.append(rec["Id"])
        return out

    def create(self, name: str | None = None, driver: str = "local", labels: dict | None = None,
               driver_opts: dict | None = None) -> dict:
        return self._store.create(name=name, driver=driver, labels=labels, driver_opts=driver_opts)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return self._store.list(filters, in_use=self.users)

    def inspect(self, name: str) -> dict:
        return self._store.inspect(name)

    def remove(self, name: str, force: bool = False) -> None:
        self._store.remove(name, force=force, in_use=self.users)

    def prune(self, filters: dict[str, list[str]] | None = None, all: bool = False) -> dict:
        return self._store.prune(filters, in_use=self.users, all=all)
