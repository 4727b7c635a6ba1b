"""``cache_from`` / ``cache_to`` of type ``local``: the build cache exported to, and imported
from, a directory (what Compose's ``build.cache_from``/``cache_to`` and ``--cache-to
type=local,dest=DIR`` name), plus the size limit applied after each build.

Layout of such a directory: ``index.json`` (``{"records": {key: record}}``) and
``blobs/sha256/<hex>`` (the layer tars), so another machine or a CI run can start warm.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from engine.build.cache import CacheRecord
from engine.build.errors import BuildError
from engine.state import atomic_write


def _parse(spec: str, key: str) -> Path | None:
    """``type=local,src=DIR`` / ``type=local,dest=DIR`` -> DIR. Any other type (a bare
    reference is BuildKit's ``type=registry``) is refused for export and skipped for import,
    as BuildKit only warns when a cache source cannot be read."""
    fields = dict(f.split("=", 1) for f in spec.split(",") if "=" in f) if "=" in spec else {"type": "registry"}
    kind = fields.get("type", "local")
    if kind != "local":
        if key == "src":
            return None
        raise BuildError(f"cache export {spec!r}: type {kind!r} is not available: pycompose exports the "
                         "build cache with type=local,dest=DIR")
    path = fields.get(key) or fields.get("dest" if key == "dest" else "src")
    if not path:
        raise BuildError(f"cache {spec!r}: {key}= is required for type=local")
    return Path(path)


def load_imports(specs) -> list[tuple[Path, dict]]:
    out = []
    for spec in specs or []:
        d = _parse(spec, "src")
        if d is None:
            continue
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads((d / "index.json").read_text())
            out.append((d, doc.get("records") or {}))
    return out


def imported_record(build, key: str) -> CacheRecord | None:
    """A record from a cache_from directory, its blob copied into the store and the local cache."""
    for d, records in build._imported:
        doc = records.get(key)
        if not doc:
            continue
        layer = doc.get("layer")
        if layer:
            blob = d / "blobs" / "sha256" / layer["digest"].split(":", 1)[1]
            if not blob.exists():
                continue
            if not build.store.blobs.exists(layer["digest"]):
                with open(blob, "rb") as f:
                    build.store.blobs.put_stream(f, layer["digest"])
        rec = CacheRecord(key, layer, doc.get("created") or "", doc.get("description") or "")
        build.cache.put(rec, build.store)
        return rec
    return None


def check_exports(specs) -> None:
    """Refuse a cache_to that cannot be written, before building."""
    for spec in specs or []:
        _parse(spec, "dest")


def export_cache(build) -> None:
    for spec in build.opts.cache_to or []:
        d = _parse(spec, "dest")
        blobs = d / "blobs" / "sha256"
        blobs.mkdir(parents=True, exist_ok=True)
        index = d / "index.json"
        try:
            records = json.loads(index.read_text()).get("records") or {}
        except (OSError, ValueError):
            records = {}
        for key, rec in build.exported.items():
            records[key] = {"layer": rec.layer, "created": rec.created, "description": rec.description}
            if rec.layer:
                target = blobs / rec.layer["digest"].split(":", 1)[1]
                if not target.exists():
                    src = build.store.blobs.path(rec.layer["digest"])
                    try:
                        os.link(src, target)
                    except OSError:
                        shutil.copyfile(src, target)
        atomic_write(index, json.dumps({"records": records}, separators=(",", ":")), sync=False)


def gc_cache(build) -> None:
    """Keep the cache under its size limit ($PYCOMPOSE_BUILD_CACHE_MAX bytes, default 20 GB)."""
    from engine.build.prune import prune_to_size

    try:
        limit = int(os.environ.get("PYCOMPOSE_BUILD_CACHE_MAX") or 20 * 10**9)
    except ValueError:
        limit = 20 * 10**9
    prune_to_size(build.root, build.store, limit)
