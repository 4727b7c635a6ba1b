"""``docker pull``: resolve a reference on its registry and bring the image into the store.

Order of work, as Docker's: the manifest (an index leads to the platform's manifest),
the config, then the layers, downloaded a few at a time, each unpacked while it arrives
(``engine.images.streaming``) and committed once its digest and diff id are checked.
A second pull of the same image asks the registry only for the manifest's digest. On any failure, the blobs and layers this pull added and no image
uses are removed again.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from engine.errors import (DigestMismatch, ImageNotFoundRemote, InvalidArgument, NoMatchingPlatform,
                           RegistryError, RegistryUnreachable)
from engine.heap import bulk_buffers
from engine.images import compression, pulled, reference
from engine.images.reference import Reference
from engine.images.streaming import StreamedLayer
from engine.images.store import ImageStore
from engine.registry import endpoints, manifests, platforms
from engine.registry.download import fetch_blob
from engine.registry.session import Session

CONCURRENT_DOWNLOADS = 3          # Docker's max-concurrent-downloads
PROGRESS_EVERY = 0.1              # seconds between Extracting events of one layer
Emit = Callable[[dict], None]


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class Events:
    """Thread-safe progress callback (downloads report from worker threads)."""

    def __init__(self, progress: Emit | None):
        self._progress = progress
        self._lock = threading.Lock()

    def __call__(self, status: str, id: str | None = None, **detail) -> None:
        if self._progress is None:
            return
        ev: dict = {"status": status}
        if id is not None:
            ev["id"] = id
        if detail:
            ev["progressDetail"] = detail
        with self._lock:
            self._progress(ev)


def _every(seconds: float, fn: Callable[[int], None]) -> Callable[[int], None]:
    """``fn`` called at most once per ``seconds`` (progress callbacks fire per read)."""
    last = [0.0]

    def call(n: int) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            fn(n)
    return call


def _resolve(ref: Reference, tag_or_digest: str) -> tuple[Session, manifests.Manifest]:
    """The first endpoint (mirror, then registry) that serves the manifest, and it."""
    tried = endpoints.sessions(ref.domain)
    for i, session in enumerate(tried):
        try:
            return session, manifests.fetch(session, ref, tag_or_digest)
        except (RegistryUnreachable, ImageNotFoundRemote):
            if i == len(tried) - 1:
                raise
    raise AssertionError("unreachable")


def resolve_digest(ref_str: str, platform: str | None = None) -> str:
    """The registry's digest for ``ref_str`` (what ``config --resolve-image-digests`` pins)."""
    ref = reference.parse(ref_str)
    if ref.digest:
        return ref.digest
    _session, top = _resolve(ref, ref.tag or reference.DEFAULT_TAG)
    return top.digest


def _check_image(ref: Reference, image: manifests.Manifest, config: dict, want, explicit: bool) -> list[dict]:
    layers = image.doc.get("layers")
    if not isinstance(layers, list) or not all(isinstance(l, dict) and l.get("digest") for l in layers):
        raise RegistryError(f"{ref.familiar()}: the manifest's layers are not a list of descriptors")
    if any(l.get("mediaType") in manifests.FOREIGN_LAYERS for l in layers):
        raise RegistryError(f"{ref.familiar()}: the image has foreign (non-distributable) layers, "
                            "which only Windows hosts use")
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(layers):
        raise RegistryError(f"{ref.familiar()}: the config lists {len(diff_ids)} layers, the manifest {len(layers)}")
    have = platforms.normalize(config.get("os") or "linux", config.get("architecture") or "", config.get("variant") or "")
    if explicit and not platforms.matches(want, have):
        raise NoMatchingPlatform(f"image with reference {ref.familiar()} was found but does not match the "
                                 f"specified platform: wanted {want}, actual: {have}")
    return layers


class Pull:
    """One image pulled into ``store``."""

    def __init__(self, store: ImageStore, ref_str: str, platform: str | None, progress: Emit | None,
                 unpack: bool = True):
        self.store = store
        self.unpack = unpack
        self.ref = reference.parse(ref_str)
        self.explicit = platform is not None
        self.want = platforms.parse(platform) if platform else platforms.host()
        self.emit = Events(progress)
        self.added_blobs: list[str] = []
        self.added_layers: list[str] = []
        self.cancelled = False

    def run(self) -> dict:
        ref = self.ref
        tag_ref = str(ref) if ref.tag and not ref.digest else None
        shown = ref.familiar()
        session, top = _resolve(ref, ref.digest or ref.tag)   # errors come before any progress, as docker's
        self.emit(f"Pulling from {ref.path}", ref.digest or ref.tag)
        name_digest = pulled.normalized_name_digest(ref, top.digest)
        before = self.store._tags().get(tag_ref) if tag_ref else None
        iid = self._already_here(name_digest)
        up_to_date = iid is not None and (before == iid if tag_ref else True)
        if iid is None:
            try:
                iid = self._fetch(session, top, tag_ref, name_digest)
            except BaseException as e:
                self._undo()
                if isinstance(e, OSError):   # a full disk, a read-only root: said, not a traceback
                    raise RegistryError(f"pulling {shown}: {e.strerror or e}"
                                        + (f": {e.filename}" if e.filename else "")) from None
                raise
        else:
            pulled.add_image(self.store, self.store.blobs.read(iid), None, [], tag_ref, name_digest)
        status = f"{'Image is up to date' if up_to_date else 'Downloaded newer image'} for {shown}"
        self.emit(f"Digest: {top.digest}")
        self.emit(f"Status: {status}")
        return {"ref": str(ref), "id": iid, "digest": top.digest, "status": status}

    def _already_here(self, name_digest: str) -> str | None:
        """The local image recorded under this repository digest, for the platform asked for."""
        for iid in pulled.find_by_repo_digest(self.store, name_digest):
            try:
                rec = self.store.get(iid)
            except Exception:  # noqa: BLE001 - removed meanwhile: pull it again
                continue
            have = platforms.normalize(rec.os, rec.architecture, rec.image_config.get("variant") or "")
            if platforms.matches(self.want, have) and all(self.store.blobs.exists(l["digest"]) for l in rec.layers):
                return iid
        return None

    def _fetch(self, session: Session, top: manifests.Manifest, tag_ref: str | None, name_digest: str) -> str:
        image = manifests.choose(session, self.ref, top, self.want)
        cdesc = image.doc.get("config") or {}
        if not cdesc.get("digest"):
            raise RegistryError(f"{self.ref.familiar()}: the manifest names no config")
        self._blob(session, cdesc)
        raw_cfg = self.store.blobs.read(cdesc["digest"])
        try:
            config = json.loads(raw_cfg)
        except ValueError:
            raise RegistryError(f"{self.ref.familiar()}: the image config is not JSON") from None
        layers = _check_image(self.ref, image, config, self.want, self.explicit)
        diff_ids = config["rootfs"]["diff_ids"]
        if self._complete_here(cdesc["digest"]):
            for l in layers:
                self.emit("Already exists", short(l["digest"]))
            return pulled.add_image(self.store, raw_cfg, None, [], tag_ref, name_digest)[0]
        with bulk_buffers():
            entries = self._layers(session, layers, diff_ids)
        iid, _moved = pulled.add_image(self.store, raw_cfg,
                                       pulled.PulledManifest(image.digest, image.media_type, image.raw),
                                       entries, tag_ref, name_digest)
        return iid

    def _complete_here(self, iid: str) -> bool:
        """True when the store already has this image (loaded, built or pulled under another name)."""
        try:
            rec = self.store.get(iid)
        except Exception:  # noqa: BLE001 - not here (or removed meanwhile)
            return False
        return all(self.store.blobs.exists(l["digest"]) for l in rec.layers)

    def _blob(self, session: Session, desc: dict, on_progress=None, sink=None):
        existed = self.store.blobs.exists(desc["digest"])
        got = fetch_blob(session, self.ref.path, desc, self.store.blobs, self.store.root, on_progress, sink)
        if not existed:
            self.added_blobs.append(desc["digest"])
        return got

    def _layers(self, session: Session, layers: list[dict], diff_ids: list[str]) -> list[dict]:
        """Download what is missing, a few at once, each layer unpacked while it arrives
        (layers are separate directories, so their order does not matter); the record's entries."""
        jobs: dict[str, Future | None] = {}
        with ThreadPoolExecutor(CONCURRENT_DOWNLOADS, thread_name_prefix="pull") as downloads:
            try:
                for desc, diff_id in zip(layers, diff_ids):
                    d = desc["digest"]
                    if d in jobs:
                        continue
                    if self.store.blobs.exists(d) and self.store.layers.is_unpacked(diff_id):
                        self.emit("Already exists", short(d))
                        jobs[d] = None
                        continue
                    self.emit("Pulling fs layer", short(d))
                    jobs[d] = downloads.submit(self._layer, session, desc, diff_id)
                    if sum(f is not None for f in jobs.values()) > CONCURRENT_DOWNLOADS:
                        self.emit("Waiting", short(d))
                return [self._entry(desc, diff_id, jobs[desc["digest"]]) for desc, diff_id in zip(layers, diff_ids)]
            except BaseException:
                self.cancelled = True
                for f in jobs.values():
                    if f is not None:
                        f.cancel()
                raise

    def _layer(self, session: Session, desc: dict, diff_id: str) -> int | None:
        """Download one layer, unpacked (or its diff id computed) as it arrives, committed once
        verified; its uncompressed size when this pull learnt it."""
        if self.cancelled:
            return None
        d, total = desc["digest"], int(desc.get("size") or 0)
        sid = short(d)
        extracting = _every(PROGRESS_EVERY, lambda n: self.emit("Extracting", sid, current=n, total=total))
        stream = None
        if not self.store.blobs.exists(d):   # a blob already stored is unpacked from the store
            stream = StreamedLayer(self.store.layers if self.unpack else None, diff_id)
            if not stream.start():
                stream = None                # unpacked already (another image has the layer)
        try:
            blob = self._blob(session, desc, lambda n: self.emit("Downloading", sid, current=n, total=total), stream)
            self.emit("Verifying Checksum", sid)
            self.emit("Download complete", sid)
            streamed = stream.finish(total, extracting if self.unpack else None) if stream else None
            if streamed is None:
                if stream is not None:   # drop it (and the layer lock it holds) before unpacking the blob
                    stream.close()
                    stream = None
                size = self._unpack_stored(blob, d, diff_id, extracting)
            else:
                size = self._commit_streamed(stream, d, diff_id, streamed)
            if self.unpack:
                self.emit("Extracting", sid, current=total, total=total)
            self.emit("Pull complete", sid)
            return size
        finally:
            if stream is not None:
                stream.close()

    def _commit_streamed(self, stream: StreamedLayer, d: str, diff_id: str, streamed: tuple[str, int]) -> int:
        got, size = streamed
        if not self.unpack:
            if got != diff_id:
                raise DigestMismatch(f"layer {d} does not match the image config: diff id {diff_id}, content {got}")
            return size
        try:
            stream.commit(got)
        except InvalidArgument as e:
            raise DigestMismatch(str(e)) from None
        self.added_layers.append(diff_id)
        return size

    def _unpack_stored(self, blob, d: str, diff_id: str, extracting: Callable[[int], None]) -> int | None:
        """Unpack (or check the diff id of) a layer from its stored blob."""
        if not self.unpack:   # left packed until first use; its diff id is checked now all the same
            got, size = compression.digest_of_plain(blob)
            if got != diff_id:
                raise DigestMismatch(f"layer {d} does not match the image config: diff id {diff_id}, content {got}")
            return size
        try:
            _path, size = self.store.layers.unpack(diff_id, blob, extracting)   # checks the diff id
        except InvalidArgument as e:
            raise DigestMismatch(str(e)) from None
        if size is not None:
            self.added_layers.append(diff_id)
        return size

    def _entry(self, desc: dict, diff_id: str, fut: Future | None) -> dict:
        """A layer's record entry, once its job is done."""
        d = desc["digest"]
        size = fut.result() if fut is not None else None
        if size is None:
            size = pulled.known_layer_size(self.store, diff_id)
        if size is None:   # left packed: check the diff id now, unpacking waits for first use
            got, size = compression.digest_of_plain(self.store.blobs.path(d))
            if got != diff_id:
                raise DigestMismatch(f"layer {d} does not match the image config: diff id {diff_id}, content {got}")
        return {"digest": d, "diff_id": diff_id, "size": size, "blob_size": int(desc.get("size") or 0),
                "mediaType": desc.get("mediaType") or manifests.DOCKER_LAYER_GZIP}

    def _undo(self) -> None:
        """Remove the blobs and layers this failed pull added that no image uses."""
        used = self.store._used_blobs()
        for d in self.added_blobs:
            if d not in used:
                self.store.blobs.delete(d)
        still = {l for iid in self.store._ids() for l in self.store.get(iid).diff_ids}
        for diff_id in self.added_layers:
            if diff_id not in still:
                with contextlib.suppress(OSError):
                    self.store.layers.remove(diff_id)


def pull(store: ImageStore, ref_str: str, platform: str | None = None, progress: Emit | None = None,
         unpack: bool = True) -> dict:
    """Pull ``ref_str`` into ``store``; ``unpack=False`` leaves the layers to be unpacked on first use."""
    return Pull(store, ref_str, platform, progress, unpack).run()


def list_tags(session: Session, ref: Reference) -> list[str]:
    """Every tag of ``ref``'s repository (``/v2/<name>/tags/list``, following ``Link`` pages)."""
    path: str | None = f"/v2/{ref.path}/tags/list"
    tags: list[str] = []
    while path:
        resp = session.request("GET", path, manifests.pull_scope(ref.path))
        if resp.status_code != 200:
            from engine.registry.session import registry_error

            code, message = registry_error(resp)
            raise manifests.not_found(code, message, ref, resp.status_code, not session.auth.credentials)
        tags += (resp.json() or {}).get("tags") or []
        nxt = resp.links.get("next", {}).get("url")
        path = nxt if nxt and nxt.startswith("/") else None
    return sorted(set(tags))


def pull_all_tags(store: ImageStore, ref_str: str, platform: str | None = None,
                  progress: Emit | None = None) -> dict:
    """``docker pull -a``: every tag of the repository; the result of the last, with all in "tags"."""
    ref = reference.parse(ref_str, default_tag=False)
    if ref.tag or ref.digest:
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    tags = list_tags(endpoints.sessions(ref.domain)[-1], ref)
    if not tags:
        raise ImageNotFoundRemote(f"repository {ref.familiar_name} has no tags")
    results = []
    events = Events(progress)
    for tag in tags:
        results.append(Pull(store, str(ref.with_tag(tag)), platform,
                            lambda ev: None if str(ev.get("status", "")).startswith("Status:") else events(**_ev(ev))).run())
    fresh = any(r["status"].startswith("Downloaded") for r in results)
    status = f"{'Downloaded newer image' if fresh else 'Image is up to date'} for {ref.familiar_name}"
    events(f"Status: {status}")
    return {"ref": ref.name, "id": results[-1]["id"], "digest": results[-1]["digest"], "status": status,
            "tags": results}


def _ev(ev: dict) -> dict:
    out = {"status": ev["status"]}
    if "id" in ev:
        out["id"] = ev["id"]
    out.update(ev.get("progressDetail") or {})
    return out
