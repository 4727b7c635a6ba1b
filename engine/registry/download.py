"""Blob downloads: streamed to a temp file in the store, verified, then renamed into place.

Each blob is hashed while it streams, so nothing unverified ever carries a digest's
name (a layer's diff id is checked when it is unpacked); a wrong size or digest
deletes the temp file and raises DigestMismatch. A connection dropped mid-blob
resumes where it stopped with ``Range``. A per-blob lock of the data root makes a
blob shared by images pulled at the same time (threads or processes) download once.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable, Protocol


from engine.registry.httpstack import httpx
from engine.errors import DigestMismatch, RegistryError, RegistryUnreachable
from engine.images.blobs import BlobStore, atomic_file
from engine.registry.session import Session, code_text, registry_error
from engine.state import DataRoot

MAX_RESUMES = 8
PROGRESS_EVERY = 0.1   # seconds between Downloading events of one blob
Progress = Callable[[int], None]


class Sink(Protocol):
    """Where a download's bytes go besides the blob file (a layer unpacked as it arrives)."""

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None: ...


def _blob_lock(root: DataRoot, digest: str):
    return root.lock(f"blob-{digest.split(':', 1)[1][:24]}")


def fetch_blob(session: Session, repo: str, desc: dict, blobs: BlobStore, root: DataRoot,
               on_progress: Progress | None = None, sink: Sink | None = None) -> Path:
    """Make sure the blob ``desc`` (digest, size) is in ``blobs``; download it when missing.

    ``sink`` gets every byte written, in order (``restart()`` when the download starts over);
    it hears nothing when the blob was here already."""
    digest, size = desc["digest"], int(desc.get("size") or 0)
    final = blobs.path(digest)
    if final.exists():
        return final
    with _blob_lock(root, digest):
        if final.exists():
            return final

        def verified() -> Path:
            if got != digest:
                raise DigestMismatch(f"filesystem layer verification failed for digest {digest}")
            return final

        with atomic_file(verified, blobs.dir, direct=True) as f:
            got = _stream(session, repo, digest, size, f, on_progress, sink)
    return final


def _range_start(resp: httpx.Response) -> int | None:
    """Where a 206 answer starts (``Content-Range: bytes 300-999/1000``), None when unsaid."""
    value = resp.headers.get("content-range", "")
    try:
        return int(value.split()[1].split("-", 1)[0]) if resp.status_code == 206 else None
    except (IndexError, ValueError):
        return None


def _stream(session: Session, repo: str, digest: str, size: int, f, on_progress: Progress | None,
            sink: Sink | None = None) -> str:
    """Write the blob to ``f``, resuming with Range when the connection drops; returns its digest."""
    sha = hashlib.sha256()
    written, resumes = 0, 0
    last = 0.0
    path = f"/v2/{repo}/blobs/{digest}"
    while True:
        headers = {"Range": f"bytes={written}-"} if written else {}
        resp = session.request("GET", path, f"repository:{repo}:pull", headers=headers, stream=True, follow=True)
        try:
            if resp.status_code not in (200, 206):
                resp.read()
                code, message = registry_error(resp)
                raise RegistryError(f"fetching blob {digest} of {repo}: {resp.status_code} "
                                    f"{code_text(code) or resp.reason_phrase}: {message}".rstrip(": "))
            if written and (resp.status_code == 200 or _range_start(resp) != written):
                f.seek(0)                                 # the server ignored Range: start again
                f.truncate()
                if sink is not None:
                    sink.restart()
                sha, written = hashlib.sha256(), 0
                if resp.status_code == 206:               # a part we did not ask for: ask for all
                    resumes += 1
                    if resumes > MAX_RESUMES:
                        raise RegistryError(f"fetching blob {digest}: the registry answers Range requests wrongly")
                    continue
            try:
                for chunk in resp.iter_raw():
                    f.write(chunk)
                    if sink is not None:
                        sink.write(chunk)
                    sha.update(chunk)
                    written += len(chunk)
                    if size and written > size:
                        raise DigestMismatch(f"filesystem layer verification failed for digest {digest}: "
                                             f"more than the {size} bytes announced")
                    now = time.monotonic()
                    if on_progress and now - last >= PROGRESS_EVERY:
                        on_progress(written)
                        last = now
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout) as e:
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise RegistryUnreachable(f"fetching blob {digest}: connection lost {resumes} times: {e}") from None
                continue
        finally:
            resp.close()
        if size and written != size:
            resumes += 1
            if written < size and resumes <= MAX_RESUMES:
                continue    # closed early without an error: ask for the rest
            raise DigestMismatch(f"filesystem layer verification failed for digest {digest}: "
                                 f"{written} bytes, the manifest says {size}")
        if on_progress:
            on_progress(written)
        return "sha256:" + sha.hexdigest()
