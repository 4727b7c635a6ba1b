"""``Engine.images``: the image store with in-use checks against this root's containers;
builds (``engine.api.builds``) and registry verbs (``engine.api.registry``) are mixed in."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from engine.api._resource import EngineResource
from engine.api.builds import BuildVerbs
from engine.api.registry import RegistryVerbs
from engine.containers import now_iso

if TYPE_CHECKING:
    from engine.api.facade import Engine

__all__ = ["Images", "image_time", "is_image_id", "parse_reference", "reference_matches"]


class Images(EngineResource, BuildVerbs, RegistryVerbs):
    """``engine.images.ImageStore`` with in-use checks against this root's containers."""

    def _open(self, engine: Engine) -> None:
        from engine.images import ImageStore

        self._store = ImageStore(engine.root)

    def users(self, image_id: str) -> list[str]:
        """Ids of the containers created from ``image_id``."""
        return [r["Id"] for r in self._engine._store.records() if r.get("Image") == image_id]

    def load(self, path: str | os.PathLike, on_retag: Callable[[str, str], None] | None = None) -> list[str]:
        """Load a docker-save or OCI archive; ``on_retag(tag, old id)`` hears of a tag taken over."""
        return self._store.load(path, on_retag=on_retag)

    def import_(self, tar_path: str | os.PathLike, ref: str | None = None, changes: list[str] | None = None,
                message: str | None = None) -> str:
        return self._store.import_tarball(tar_path, ref, changes, message=message)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return [r.summary() for r in self._store.list(filters)]

    def records(self, filters: dict[str, list[str]] | None = None) -> list:
        """The image records (``engine.images.record.ImageRecord``: refs, repo_digests, layers,
        image_config, size, created_unix) ``list`` summarises, newest first: ``image ls`` and
        ``history`` print from them."""
        return self._store.list(filters)

    def inspect(self, ref: str) -> dict:
        out = self._store.inspect(ref)
        meta = out.get("Metadata")
        if isinstance(meta, dict) and not meta.get("LastTagTime"):
            meta["LastTagTime"] = self._tag_times().get(out.get("Id"), "")
        return out

    def _tag_times_path(self) -> Path:
        return self._engine.root.path / "images" / "last-tag-times.json"

    def _tag_times(self) -> dict[str, str]:
        """image id -> when a pull last tagged it (Docker's Metadata.LastTagTime; pull_policy daily)."""
        from engine.state import read_json

        data = read_json(self._tag_times_path())
        return data if isinstance(data, dict) else {}

    def _tagged_now(self, image_id: str | None) -> None:
        from engine.state import write_json

        if not image_id:
            return
        with self._engine.root.lock("image-tag-times"):
            data = {k: v for k, v in self._tag_times().items() if self._store.exists(k)}
            data[image_id] = now_iso()
            write_json(self._tag_times_path(), data, sync=False)

    def get(self, ref: str):
        return self._store.get(ref)

    def tag(self, src: str, dst: str) -> None:
        self._store.tag(src, dst)

    def save(self, refs: list[str], out: str | os.PathLike) -> None:
        self._store.save(refs, out)

    def remove(self, ref: str, force: bool = False) -> list[dict]:
        return self._store.remove(ref, force=force, in_use=self.users)

    def prune(self, all: bool = False, filters: dict[str, list[str]] | None = None) -> dict:
        return self._store.prune(all=all, filters=filters, in_use=self.users)

    def exists(self, ref: str) -> bool:
        return self._store.exists(ref)


def parse_reference(ref: str, default_tag: bool = True):
    """An image reference parsed and normalised (``familiar()``, ``tag``, ``digest``, ``with_tag``)."""
    from engine.images import reference

    return reference.parse(ref, default_tag=default_tag)


def is_image_id(ref: str) -> bool:
    """True for a full image id, with or without ``sha256:``."""
    from engine.images import reference

    return reference.is_id(ref)


def reference_matches(tag: str, pattern: str) -> bool:
    """Docker's ``reference=`` filter match of one familiar tag."""
    from engine.images.filters import reference_matches as matches

    return matches(tag, pattern)


def image_time(stamp: str | None) -> float:
    """An image config's RFC 3339 time (``created``) as unix seconds, 0 when absent."""
    from engine.images.filters import created_seconds

    return created_seconds(stamp)
