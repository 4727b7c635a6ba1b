"""Images that come from a registry: add them to the store with their RepoDigests.

The registry client (``engine.registry``) has already put and verified every layer
blob; this writes the config and manifest blobs, the image record (layers, manifest as
pulled, ``repo_digests`` as ``docker.io/library/busybox@sha256:...``) and the tag, under
the store's lock, the same layout ``load`` writes.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.images import reference
from engine.images.store import ImageStore, _has_entry, _now_rfc3339
from engine.state import read_json, write_json


@dataclass
class PulledManifest:
    digest: str
    media_type: str
    raw: bytes


def _record_path(store: ImageStore, iid: str):
    return store.records_dir / f"{iid.split(':', 1)[1]}.json"


def find_by_repo_digest(store: ImageStore, name_digest: str) -> list[str]:
    """The image ids recorded under ``name@digest`` (several for an index: one per platform pulled)."""
    return [iid for iid in store._ids()
            if name_digest in ((read_json(_record_path(store, iid)) or {}).get("repo_digests") or [])]


def manifest_of(store: ImageStore, iid: str) -> PulledManifest | None:
    """The manifest an image was pulled (or loaded) with, when the store has it."""
    rec = read_json(_record_path(store, iid)) or {}
    m = rec.get("manifest") or {}
    if not m.get("digest") or not store.blobs.exists(m["digest"]):
        return None
    return PulledManifest(m["digest"], m.get("mediaType") or "", store.blobs.read(m["digest"]))


def add_repo_digest(store: ImageStore, iid: str, name_digest: str) -> None:
    """Remember that ``iid`` is ``name@digest`` on a registry (pull and push both do)."""
    with store._lock():
        path = _record_path(store, iid)
        rec = read_json(path)
        if rec is None:
            return
        digests = [d for d in rec.get("repo_digests") or [] if d.split("@", 1)[0] != name_digest.split("@", 1)[0]]
        rec["repo_digests"] = digests + [name_digest]
        write_json(path, rec)


def add_image(store: ImageStore, config: bytes, manifest: PulledManifest | None, layers: list[dict],
              tag_ref: str | None, name_digest: str) -> tuple[str, str | None]:
    """Record a pulled image; returns (image id, id the tag moved off or None).

    ``layers``: {digest, diff_id, size, blob_size, mediaType}, lowest first, blobs present.
    """
    with store._lock():
        iid = store.blobs.put_bytes(config)
        path = _record_path(store, iid)
        rec = read_json(path)
        if rec is None:
            assert manifest is not None, "a new image needs its manifest"
            mdigest = store.blobs.put_bytes(manifest.raw)
            rec = {"id": iid, "repo_digest": None, "layers": layers, "loaded": _now_rfc3339(),
                   "manifest": {"digest": mdigest, "size": len(manifest.raw), "mediaType": manifest.media_type}}
        repo = name_digest.split("@", 1)[0]
        rec["repo_digests"] = [d for d in rec.get("repo_digests") or [] if d.split("@", 1)[0] != repo] + [name_digest]
        write_json(path, rec)
        entries = store._entries()
        moved = None
        if tag_ref:
            moved = store._tags().get(tag_ref)
            entries = store._set_tag(entries, tag_ref, iid, store._manifest_desc(iid))
        if not _has_entry(entries, iid):
            entries.append(store._untagged_entry(iid))
        store._write_entries(entries)
    return iid, (moved if moved not in (None, iid) else None)


def known_layer_size(store: ImageStore, diff_id: str) -> int | None:
    """The uncompressed size another image records for the layer ``diff_id``."""
    for iid in store._ids():
        for l in (read_json(_record_path(store, iid)) or {}).get("layers") or []:
            if l.get("diff_id") == diff_id and l.get("size") is not None:
                return int(l["size"])
    return None


def normalized_name_digest(ref: reference.Reference, digest: str) -> str:
    return f"{ref.name}@{digest}"


def pushed_layers(store: ImageStore, iid: str) -> dict[str, dict]:
    """diff id -> {digest, size} of the gzip copies made to push an image's plain layers."""
    return dict((read_json(_record_path(store, iid)) or {}).get("pushed_layers") or {})


def remember_pushed_layer(store: ImageStore, iid: str, diff_id: str, digest: str, size: int) -> None:
    """Keep the gzip copy of a plain layer with the image (removed with it), so pushes repeat it."""
    with store._lock():
        path = _record_path(store, iid)
        rec = read_json(path)
        if rec is None:
            return
        rec.setdefault("pushed_layers", {})[diff_id] = {"digest": digest, "size": size}
        extra = rec.setdefault("extra_blobs", [])
        if digest not in extra:
            extra.append(digest)
        write_json(path, rec)


def repositories_with_blob(store: ImageStore, digest: str, domain: str) -> list[str]:
    """Repository paths on ``domain`` an image holding blob ``digest`` was pulled from or pushed to."""
    out: list[str] = []
    for iid in store._ids():
        rec = read_json(_record_path(store, iid)) or {}
        blobs = {l.get("digest") for l in rec.get("layers") or []} | set(rec.get("extra_blobs") or [])
        if digest not in blobs:
            continue
        for nd in rec.get("repo_digests") or []:
            name = nd.split("@", 1)[0]
            d, _, path = name.partition("/")
            if d == domain and path not in out:
                out.append(path)
    return out
