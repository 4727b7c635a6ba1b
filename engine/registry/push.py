"""``docker push``: send an image's blobs and manifest to its registry, tag by tag.

An image that came from a registry is pushed with the manifest it was pulled with
(same bytes, same digest, its compressed layers as stored). An image loaded or built
here has plain layers: each is gzip-compressed once (the copy is kept with the image,
so pushing again sends the same digest) and a Docker schema2 manifest is made, as
Docker does. Blobs the registry has are skipped, ones another repository of the same
registry has are mounted from it, the rest are uploaded (a few at once).
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from engine.errors import InvalidArgument, NotFound, RegistryError
from engine.images import compression, pulled, reference
from engine.images.record import ImageRecord
from engine.images.store import ImageStore
from engine.registry import endpoints, manifests, upload
from engine.registry.pull import Events, short
from engine.registry.session import Session

CONCURRENT_UPLOADS = 5        # Docker's max-concurrent-uploads
Emit = Callable[[dict], None]


def _gzip_copy(store: ImageStore, rec: ImageRecord, layer: dict) -> dict:
    """The gzip copy of a plain layer (made once, remembered with the image)."""
    known = pulled.pushed_layers(store, rec.id).get(layer["diff_id"])
    if known and store.blobs.exists(known["digest"]):
        return known
    fd, tmp = tempfile.mkstemp(dir=store.blobs.dir, prefix=".gz-")
    try:
        with os.fdopen(fd, "wb") as raw, open(store.blobs.path(layer["digest"]), "rb") as src:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                while b := src.read(1 << 20):
                    gz.write(b)
        with open(tmp, "rb") as f:
            digest, size = store.blobs.put_stream(f)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    pulled.remember_pushed_layer(store, rec.id, layer["diff_id"], digest, size)
    return {"digest": digest, "size": size}


def _stored_manifest(store: ImageStore, rec: ImageRecord) -> tuple[str, bytes] | None:
    """(media type, bytes) of the manifest the image was pulled with, when it matches the store."""
    m = pulled.manifest_of(store, rec.id)
    if m is None or m.media_type not in manifests.IMAGES:
        return None
    doc = json.loads(m.raw)
    if [l.get("digest") for l in doc.get("layers") or []] != [l["digest"] for l in rec.layers]:
        return None
    if (doc.get("config") or {}).get("digest") != rec.id:
        return None
    return m.media_type, m.raw


def _build_manifest(store: ImageStore, rec: ImageRecord) -> tuple[str, bytes]:
    """A manifest for an image with (some) plain layers: gzip copies, schema2 (OCI when zstd)."""
    descs = []
    for l in rec.layers:
        kind = compression.detect(store.blobs.path(l["digest"]))
        if kind == compression.PLAIN:
            g = _gzip_copy(store, rec, l)
            descs.append((compression.GZIP, g["digest"], g["size"]))
        else:
            descs.append((kind, l["digest"], int(l.get("blob_size") or store.blobs.path(l["digest"]).stat().st_size)))
    oci = any(k not in (compression.GZIP,) for k, _, _ in descs)
    cfg = store.blobs.read(rec.id)
    if oci:
        mt, cmt = manifests.OCI_MANIFEST, manifests.OCI_CONFIG
        lmt = lambda k: f"application/vnd.oci.image.layer.v1.tar+{k}"  # noqa: E731
    else:
        mt, cmt = manifests.DOCKER_V2, manifests.DOCKER_CONFIG
        lmt = lambda k: manifests.DOCKER_LAYER_GZIP  # noqa: E731
    doc = {"schemaVersion": 2, "mediaType": mt,
           "config": {"mediaType": cmt, "size": len(cfg), "digest": rec.id},
           "layers": [{"mediaType": lmt(k), "size": s, "digest": d} for k, d, s in descs]}
    return mt, json.dumps(doc, indent=3).encode()


class Push:
    def __init__(self, store: ImageStore, session: Session, repo_ref: reference.Reference, progress: Emit | None):
        self.store, self.session, self.ref = store, session, repo_ref
        self.emit = Events(progress)

    def tag(self, tag: str) -> dict:
        ref = self.ref.with_tag(tag)
        rec = self.store.get(str(ref))
        media_type, raw = _stored_manifest(self.store, rec) or _build_manifest(self.store, rec)
        doc = json.loads(raw)
        layers = doc["layers"]
        for l in layers:
            self.emit("Preparing", short(l["digest"]))
        for i, l in enumerate(layers):
            if i >= CONCURRENT_UPLOADS:
                self.emit("Waiting", short(l["digest"]))
        with ThreadPoolExecutor(CONCURRENT_UPLOADS, thread_name_prefix="push") as pool:
            for f in [pool.submit(self._blob, l, True) for l in layers]:
                f.result()
        self._blob(doc["config"], False)
        path = f"/v2/{self.ref.path}/manifests/{tag}"
        resp = self.session.request("PUT", path, upload.push_scope(self.ref.path),
                                    headers={"Content-Type": media_type}, content=raw)
        if resp.status_code not in (200, 201):
            raise upload.error_for(f"pushing the manifest of {ref.familiar()}", resp)
        digest = manifests.sha256(raw)
        said = resp.headers.get("docker-content-digest")
        if said and said != digest:
            raise RegistryError(f"the registry stored the manifest as {said}, expected {digest}")
        pulled.add_repo_digest(self.store, rec.id, f"{self.ref.name}@{digest}")
        self.emit(f"{tag}: digest: {digest} size: {len(raw)}")
        return {"ref": ref.familiar(), "tag": tag, "digest": digest, "size": len(raw)}

    def _blob(self, desc: dict, show: bool) -> None:
        d, size = desc["digest"], int(desc["size"])
        sid = short(d)
        repo = self.ref.path
        if upload.exists(self.session, repo, d):
            if show:
                self.emit("Layer already exists", sid)
            return
        sources = [r for r in pulled.repositories_with_blob(self.store, d, self.ref.domain) if r != repo]
        url = upload.start(self.session, repo, d, sources[0] if sources else None)
        if url is None:
            if show:
                self.emit(f"Mounted from {sources[0]}", sid)
            return
        on = (lambda n: self.emit("Pushing", sid, current=n, total=size)) if show else None
        upload.upload(self.session, repo, url, self.store.blobs.path(d), d, size, on)
        if show:
            self.emit("Pushed", sid)


def push(store: ImageStore, ref_str: str, all_tags: bool = False, progress: Emit | None = None) -> list[dict]:
    """Push ``ref_str`` (its tag, ``latest`` by default, or every local tag of the repository)."""
    ref = reference.parse(ref_str, default_tag=False)
    if ref.digest:
        raise InvalidArgument(f"cannot push a digest reference: {ref_str}")
    if all_tags and ref.tag:
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    if all_tags:
        tags = sorted(reference.parse(r).tag for r in store._tags() if reference.parse(r).name == ref.name)
        if not tags:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    else:
        tags = [ref.tag or reference.DEFAULT_TAG]
        if not store.exists(str(ref.with_tag(tags[0]))):
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar()}")
    shown = ref.name if ref.domain == reference.DEFAULT_DOMAIN else ref.familiar_name
    events = Events(progress)
    events(f"The push refers to repository [{shown}]")
    job = Push(store, endpoints.primary(ref.domain), ref, progress)
    try:
        return [job.tag(t) for t in tags]
    except OSError as e:   # a blob missing from the store, a full disk for a gzip copy: said, not a traceback
        raise RegistryError(f"pushing {ref.familiar()}: {e.strerror or e}"
                            + (f": {e.filename}" if e.filename else "")) from None
