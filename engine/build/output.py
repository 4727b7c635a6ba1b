"""Step layers into the image store, and the built image (config, manifest, tags) at the end.

Why here: a step's layer must be in the store (blob + unpacked dir) before the next RUN
can stack it, and the final image is written under the store's lock in one go, so a
failed build never leaves a half image: a layer is only stored once its tar is complete
and its name is its digest, and the image record appears last.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from engine.build.layerdiff import layer_from_upper
from engine.images import archive, reference
from engine.images.store import ImageStore, _has_entry, _make_manifest
from engine.state import write_json

PLAIN_TAR = "application/vnd.oci.image.layer.v1.tar"


def _empty_tar(path: Path) -> bool:
    if path.stat().st_size > 10240:
        return False
    with tarfile.open(path, "r:") as tf:
        return tf.next() is None


def commit_upper(store: ImageStore, upper: Path, skip: tuple[str, ...] = (), adopt: bool = False,
                 from_overlay: bool = False) -> dict | None:
    """Store the layer of ``upper``; None when the step changed nothing (an empty layer).

    ``adopt``: the upper dir holds exactly the layer (COPY writes no runtime stubs), so it is
    moved into the layer cache instead of unpacking the tar again. ``from_overlay``: it was a
    mounted overlay's upper dir, whose bookkeeping xattrs are dropped before it becomes a lower."""
    fd, tmp = tempfile.mkstemp(dir=store.blobs.dir, prefix=".in-build-")
    os.close(fd)
    try:
        diff_id, size = layer_from_upper(upper, tmp, skip=skip)
        if _empty_tar(Path(tmp)):
            return None
        final = store.blobs.path(diff_id)
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if adopt:
        if from_overlay:
            strip_overlay_xattrs(upper)
        _adopt(store, diff_id, upper)
    store.layers.ensure(diff_id, final)
    return {"digest": diff_id, "diff_id": diff_id, "size": size, "blob_size": size, "mediaType": PLAIN_TAR}


def _adopt(store: ImageStore, diff_id: str, upper: Path) -> None:
    target = store.layers.path(diff_id)
    if target.exists():
        return
    with store.layers._lock(diff_id):
        if not target.exists():
            os.rename(upper, target)
            upper.mkdir()  # the caller removes its scratch dir as usual


def strip_overlay_xattrs(upper: Path) -> None:
    """Drop overlayfs' own ``trusted.overlay.*`` marks (origin, impure, ...) but the opaque one."""
    def clean(path: str) -> None:
        try:
            names = os.listxattr(path, follow_symlinks=False)
        except OSError:
            return
        for n in names:
            if n.startswith("trusted.overlay.") and n != "trusted.overlay.opaque":
                with contextlib.suppress(OSError):
                    os.removexattr(path, n, follow_symlinks=False)

    for dirpath, dirnames, filenames in os.walk(upper):
        clean(dirpath)
        for n in filenames + dirnames:
            p = os.path.join(dirpath, n)
            if not os.path.isdir(p) or os.path.islink(p):
                clean(p)


def write_image(store: ImageStore, doc: dict, layers: list[dict], tags: list[str], restore=None) -> str:
    """Write the image config, manifest and record; point ``tags`` at it. Returns the image id.

    ``restore(digest)`` puts back a layer blob the store dropped meanwhile (from the cache)."""
    raw = json.dumps(doc, separators=(",", ":")).encode()
    refs = [str(reference.parse(t)) for t in tags]
    with store._lock():
        for l in layers:
            if not store.blobs.exists(l["digest"]) and restore is not None:
                restore(l["digest"])
        iid = store.blobs.put_bytes(raw)
        record_path = store.records_dir / f"{iid.split(':', 1)[1]}.json"
        if not record_path.exists():
            manifest = _make_manifest(iid, len(raw), layers)
            mdigest = store.blobs.put_bytes(manifest)
            write_json(record_path, {"id": iid, "manifest": {"digest": mdigest, "size": len(manifest)},
                                     "repo_digest": None, "layers": layers, "loaded": doc.get("created")})
        entries = store._entries()
        desc = store._manifest_desc(iid)
        for ref in refs:
            entries = store._set_tag(entries, ref, iid, desc)
        if not _has_entry(entries, iid):
            entries.append(store._untagged_entry(iid))
        store._write_entries(entries)
    return iid


def familiar_tags(tags: list[str]) -> list[str]:
    """``docker.io/library/x:latest`` as BuildKit's "naming to" line prints it."""
    return [str(reference.parse(t)) for t in tags]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["commit_upper", "write_image", "familiar_tags", "archive"]
