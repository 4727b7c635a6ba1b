"""``ImageRecord``: one image as the rest of the engine sees it (config, tags, layers)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.images import reference

if TYPE_CHECKING:  # pragma: no cover
    from engine.images.store import ImageStore


class ImageRecord:
    """One image as the rest of the engine sees it.

    A plain class, not a dataclass: every ``container run`` looks its image up, and importing
    dataclasses (inspect, ast, dis) would cost it more than the lookup itself."""

    def __init__(self, id: str, refs: list[str], image_config: dict, layers: list[dict],
                 repo_digests: list[str] | None = None, _store: "ImageStore | None" = None):
        self.id = id
        self.refs = refs                  # normalised references (docker.io/library/busybox:latest)
        self.image_config = image_config  # the whole image config document
        self.layers = layers              # {digest, diff_id, size, mediaType}, lowest first
        self.repo_digests = [] if repo_digests is None else repo_digests
        self._store = _store

    def _compared(self) -> tuple:
        return self.id, self.refs, self.image_config, self.layers, self.repo_digests

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageRecord) and self._compared() == other._compared()

    def __repr__(self) -> str:
        return (f"ImageRecord(id={self.id!r}, refs={self.refs!r}, image_config={self.image_config!r}, "
                f"layers={self.layers!r}, repo_digests={self.repo_digests!r})")

    @property
    def tags(self) -> list[str]:
        """Tags as docker prints them (``busybox:latest``)."""
        return [reference.familiar(r) for r in self.refs]

    @property
    def config(self) -> dict:
        """The image config's ``config`` object (Env, Cmd, Entrypoint, ...), ``{}`` when absent."""
        return dict(self.image_config.get("config") or {})

    @property
    def created(self) -> str:
        return self.image_config.get("created") or ""

    @property
    def created_unix(self) -> int:
        from engine.images.filters import created_seconds

        return int(created_seconds(self.created))

    @property
    def size(self) -> int:
        return sum(int(l.get("size") or 0) for l in self.layers)

    @property
    def diff_ids(self) -> list[str]:
        return [l["diff_id"] for l in self.layers]

    @property
    def architecture(self) -> str:
        from engine.images import archive

        return self.image_config.get("architecture") or archive.host_arch()

    @property
    def os(self) -> str:
        return self.image_config.get("os") or "linux"

    def layer_dirs(self) -> list[Path]:
        """Unpacked layer directories, lowest FIRST (unpacked on first use, shared)."""
        assert self._store is not None
        return [self._store.layers.ensure(l["diff_id"], self._store.blobs.path(l["digest"]))
                for l in self.layers]

    def summary(self) -> dict:
        """Docker's /images/json entry."""
        return {
            "Id": self.id,
            "ParentId": "",
            "RepoTags": self.tags,
            "RepoDigests": self.repo_digests,
            "Created": self.created_unix,
            "Size": self.size,
            "SharedSize": -1,
            "VirtualSize": self.size,
            "Labels": self.config.get("Labels") or {},
            "Containers": -1,
        }
