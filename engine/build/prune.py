"""``builder prune`` and ``builder du``: what the build cache holds and freeing it.

A record's size is its layer's. Space comes back only for layers no image uses (an
image keeps its layers alive whatever the cache does), so "Total reclaimed space" is
what was really freed: the cache's blob link, the store's blob and the unpacked layer
dir of each layer nothing else holds. Cache mounts (``RUN --mount=type=cache``) are
removed only with ``--all``, and never while a build holds one.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from engine.build.cache import BuildCache, CacheRecord
from engine.build.stepdirs import lock_held
from engine.errors import InvalidArgument
from engine.images.filters import parse_until
from engine.state import DataRoot

FILTERS = ("until", "id", "type", "description")


def _image_usage(store) -> tuple[set[str], set[str]]:
    """(blob digests, diff ids) the images of the store use."""
    return store._used_blobs(), {d for r in store.list() for d in r.diff_ids}


def _dir_size(path: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
    return total


def _mount_dirs(root: DataRoot) -> list[Path]:
    base = root.path / "build" / "cachemounts"
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def usage(root: DataRoot, store) -> list[dict]:
    """One entry per record and cache mount: ID, Type, Size, InUse, Shared, Reclaimable, LastUsedAt."""
    cache = BuildCache(root)
    used_blobs, _ = _image_usage(store)
    out = []
    for rec in cache.all():
        shared = bool(rec.layer and rec.layer["digest"] in used_blobs)
        out.append({"ID": rec.key[:25], "Type": "regular", "Size": _disk_size(cache, store, rec.layer),
                    "Shared": shared, "InUse": False, "Reclaimable": not shared,
                    "LastUsedAt": rec.last_used, "Description": rec.description})
    for d in _mount_dirs(root):
        out.append({"ID": d.name[:25], "Type": "exec.cachemount", "Size": _dir_size(d), "Shared": False,
                    "InUse": _busy(d), "Reclaimable": True, "LastUsedAt": d.stat().st_mtime,
                    "Description": "cached mount"})
    return out


def _disk_size(cache: BuildCache, store, layer: dict | None) -> int:
    """What a cached layer takes on disk: its tar blob and its unpacked directory."""
    if not layer:
        return 0
    size = 0
    if (cache.blobs / layer["digest"].split(":", 1)[1]).exists():
        size += int(layer.get("blob_size") or layer.get("size") or 0)
    if store.layers.is_unpacked(layer["diff_id"]):
        size += int(layer.get("size") or 0)
    return size


def _busy(d: Path) -> bool:
    return lock_held(d / "lock", create=True) is True


def _matches(rec: CacheRecord, filters: dict[str, list[str]], now: float) -> bool:
    for v in filters.get("until", []):
        if not rec.last_used < parse_until(v):
            return False
    if filters.get("id") and not any(rec.key.startswith(i) for i in filters["id"]):
        return False
    if filters.get("type") and rec.kind not in filters["type"]:
        return False
    if filters.get("description") and not any(d in rec.description for d in filters["description"]):
        return False
    return True


def prune(root: DataRoot, store, all: bool = False, filters: dict[str, list[str]] | None = None,
          keep_storage: int | None = None) -> dict:
    """Docker's BuildCachePrune answer: {"CachesDeleted": [ids], "SpaceReclaimed": bytes}."""
    filters = dict(filters or {})
    for k in filters:
        if k not in FILTERS:
            raise InvalidArgument(f"invalid filter '{k}'")
    if keep_storage is not None:
        return prune_to_size(root, store, keep_storage)
    cache = BuildCache(root)
    now = time.time()
    with cache.lock():
        used_blobs, _ = _image_usage(store)
        doomed = [r for r in cache.all() if _matches(r, filters, now)
                  and (all or not (r.layer and r.layer["digest"] in used_blobs))]
        deleted, reclaimed = _delete(cache, store, doomed)
        if all and not filters.get("id") and (not filters.get("type") or "exec.cachemount" in filters["type"]):
            for d in _mount_dirs(root):
                if filters.get("until") and not d.stat().st_mtime < min(parse_until(v) for v in filters["until"]):
                    continue
                if _busy(d):
                    continue
                reclaimed += _dir_size(d)
                shutil.rmtree(d, ignore_errors=True)
                deleted.append(d.name[:25])
    return {"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _delete(cache: BuildCache, store, doomed: list[CacheRecord]) -> tuple[list[str], int]:
    deleted, reclaimed = [], 0
    for r in doomed:
        with contextlib.suppress(FileNotFoundError):
            (cache.records / f"{r.key}.json").unlink()
        deleted.append(r.key[:25])
    remaining = {(r.layer or {}).get("digest") for r in cache.all()}
    used_blobs, used_diffs = _image_usage(store)
    for r in doomed:
        if not r.layer:
            continue
        digest = r.layer["digest"]
        if digest in remaining or digest in used_blobs:
            continue
        link = cache.blobs / digest.split(":", 1)[1]
        if link.exists():
            reclaimed += int(r.layer.get("blob_size") or r.layer.get("size") or 0)
            link.unlink()
        store.blobs.delete(digest)
        remaining.add(digest)
        if r.layer["diff_id"] not in used_diffs and store.layers.is_unpacked(r.layer["diff_id"]):
            reclaimed += int(r.layer.get("size") or 0)
            store.layers.remove(r.layer["diff_id"])
    return deleted, reclaimed


def prune_to_size(root: DataRoot, store, limit: int) -> dict:
    """Drop the least recently used records until the cache-only layers fit in ``limit`` bytes."""
    cache = BuildCache(root)
    with cache.lock():
        used_blobs, _ = _image_usage(store)
        recs = sorted(cache.all(), key=lambda r: r.last_used)
        sizes = {r.layer["digest"]: int(r.layer.get("size") or 0) for r in recs
                 if r.layer and r.layer["digest"] not in used_blobs}
        total = sum(sizes.values())
        doomed = []
        for r in recs:
            if total <= limit:
                break
            doomed.append(r)
            if r.layer and r.layer["digest"] in sizes:
                total -= sizes.pop(r.layer["digest"])
        deleted, reclaimed = _delete(cache, store, doomed) if doomed else ([], 0)
    return {"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
