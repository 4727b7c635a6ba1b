"""``ImageRecord``: one image as the rest of the engine sees it (config, tags, layers)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.images import archive, reference
from engine.images.filters import parse_time

if TYPE_CHECKING:  # pragma: no cover
    from engine.images.store import ImageStore


@dataclass
class ImageRecord:
    """One image as the rest of the engine sees it."""

    id: str
    refs: list[str]                 # normalised references (docker.io/library/busybox:latest)
    image_config: dict              # the whole image config document
    layers: list[dict]              # {digest, diff_id, size, mediaType}, lowest first
    repo_digests: list[str] = field(default_factory=list)
    _store: "ImageStore | None" = field(default=None, repr=False, compare=False)

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
        return int(parse_time(self.created))

    @property
    def size(self) -> int:
        return sum(int(l.get("size") or 0) for l in self.layers)

    @property
    def diff_ids(self) -> list[str]:
        return [l["diff_id"] for l in self.layers]

    @property
    def architecture(self) -> str:
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
