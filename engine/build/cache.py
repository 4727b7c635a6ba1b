"""The build cache: one record per step result, keyed by what determines the result.

``$ROOT/builder/cache/records/<key>.json`` holds a step's result: its layer (digest,
diff id, sizes; None for a step that changed nothing), its history entry's creation
time and when it was last used. The layer blob is hard-linked under
``$ROOT/builder/cache/blobs/<hex>``: the image store deletes a blob when its last image
goes, the link keeps the cached content alive, and a later hit links it back into the
store. So ``image rm`` does not empty the build cache, and ``builder prune`` (not ``image
prune``) is what frees it, like Docker's.

Keys are sha256 over a JSON list (``key_of``): the parent's key, the instruction after
expansion and whatever else decides the step's output (env, build args, file digests).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from engine.state import DataRoot, read_json, write_json


def now_rfc3339() -> str:
    """Now, as Go's RFC 3339 with nanoseconds (what image configs carry)."""
    t = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + f".{t % 10**9:09d}Z"


def key_of(*parts) -> str:
    """A cache key: sha256 of the parts as canonical JSON."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass
class CacheRecord:
    key: str
    layer: dict | None  # {digest, diff_id, size, blob_size, mediaType} or None (empty layer)
    created: str  # RFC 3339: the history entry's time, kept so a cached build gives the same image id
    description: str = ""
    last_used: float = 0.0
    kind: str = "regular"  # "regular" (a step's layer) or "exec.cachemount"

    def to_json(self) -> dict:
        return {"key": self.key, "layer": self.layer, "created": self.created, "description": self.description,
                "last_used": self.last_used, "kind": self.kind}


class BuildCache:
    """Step results of one data root (see the module docstring)."""

    def __init__(self, root: DataRoot):
        self.root = root
        self.dir = root.dir("builder", "cache")
        self.records = root.dir("builder", "cache", "records")
        self.blobs = root.dir("builder", "cache", "blobs")

    def lock(self):
        return self.root.lock("builder-cache")

    # --- lookups --------------------------------------------------------------------------
    def get(self, key: str, store) -> CacheRecord | None:
        """The record under ``key`` when its layer is still there (relinked into ``store``)."""
        doc = read_json(self.records / f"{key}.json")
        if not doc:
            return None
        rec = CacheRecord(**{k: doc.get(k) for k in ("key", "layer", "created", "description")},
                          last_used=doc.get("last_used") or 0.0, kind=doc.get("kind") or "regular")
        if rec.layer and not self.restore_blob(rec.layer["digest"], store):
            return None
        self.touch(rec)
        return rec

    def touch(self, rec: CacheRecord) -> None:
        rec.last_used = time.time()
        with contextlib.suppress(OSError):
            write_json(self.records / f"{rec.key}.json", rec.to_json(), sync=False)

    def put(self, rec: CacheRecord, store) -> None:
        """Remember ``rec``; its layer blob (already in ``store``) is linked into the cache."""
        rec.last_used = time.time()
        if rec.layer:
            self.keep_blob(rec.layer["digest"], store)
        write_json(self.records / f"{rec.key}.json", rec.to_json(), sync=False)

    # --- blobs ------------------------------------------------------------------------------
    def _blob(self, digest: str) -> Path:
        return self.blobs / digest.split(":", 1)[1]

    def keep_blob(self, digest: str, store) -> None:
        link = self._blob(digest)
        if link.exists():
            return
        with contextlib.suppress(FileExistsError):
            os.link(store.blobs.path(digest), link)

    def restore_blob(self, digest: str, store) -> bool:
        """Make sure ``store`` has the blob (linking the cache's copy back); False when lost."""
        target = store.blobs.path(digest)
        if target.exists():
            self.keep_blob(digest, store)
            return True
        link = self._blob(digest)
        if not link.exists():
            return False
        with contextlib.suppress(FileExistsError):
            os.link(link, target)
        return True

    # --- listing, usage and pruning -----------------------------------------------------------
    def all(self) -> list[CacheRecord]:
        out = []
        for p in self.records.glob("*.json"):
            doc = read_json(p) or {}
            if not doc.get("key"):
                continue
            out.append(CacheRecord(doc["key"], doc.get("layer"), doc.get("created") or "",
                                   doc.get("description") or "", doc.get("last_used") or 0.0,
                                   doc.get("kind") or "regular"))
        return out

    def mounts_dir(self) -> Path:
        return self.root.dir("builder", "mounts")
