"""Blob downloads: streamed to a temp file in the store, verified, then renamed into place.

Each blob is hashed (and, for layers, decompressed and hashed again for its diff id)
while it streams, so nothing unverified ever carries a digest's name; a wrong size or
digest deletes the temp file and raises DigestMismatch. A connection dropped mid-blob
resumes where it stopped with ``Range``. A per-blob lock of the data root makes a
blob shared by images pulled at the same time (threads or processes) download once.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx
import zstandard

from engine.errors import DigestMismatch, RegistryError, RegistryUnreachable
from engine.images.blobs import BlobStore
from engine.registry.session import Session, code_text, registry_error
from engine.state import DataRoot

MAX_RESUMES = 8
PROGRESS_EVERY = 0.1   # seconds between Downloading events of one blob
Progress = Callable[[int], None]


@dataclass
class Fetched:
    path: Path
    diff_id: str | None = None       # digest of the uncompressed content (layers only)
    plain_size: int | None = None


class _Uncompressed:
    """Hashes the uncompressed form of a gzip, zstd or plain stream fed in pieces."""

    def __init__(self, head: bytes):
        self.sha = hashlib.sha256()
        self.size = 0
        self.error = ""
        self._gzip = head.startswith(b"\x1f\x8b")
        if self._gzip:
            self._d = zlib.decompressobj(wbits=47)
        elif head.startswith(b"\x28\xb5\x2f\xfd"):
            self._d = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)
        else:
            self._d = None

    def feed(self, data: bytes) -> None:
        if self.error:
            return
        if self._d is not None:
            try:
                data = self._d.decompress(data)
            except (zlib.error, zstandard.ZstdError) as e:
                self.error = f"layer cannot be decompressed: {e}"  # reported after the digest check
                return
            if self._gzip and self._d.eof and self._d.unused_data:
                rest = self._d.unused_data   # concatenated gzip members
                self._d = zlib.decompressobj(wbits=47)
                self.feed_plain(data)
                self.feed(rest)
                return
        self.feed_plain(data)

    def feed_plain(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def _blob_lock(root: DataRoot, digest: str):
    return root.lock(f"blob-{digest.split(':', 1)[1][:24]}")


def fetch_blob(session: Session, repo: str, desc: dict, blobs: BlobStore, root: DataRoot,
               on_progress: Progress | None = None, layer: bool = False) -> Fetched:
    """Make sure the blob ``desc`` (digest, size) is in ``blobs``; download it when missing."""
    digest, size = desc["digest"], int(desc.get("size") or 0)
    final = blobs.path(digest)
    if final.exists():
        return Fetched(final)
    with _blob_lock(root, digest):
        if final.exists():
            return Fetched(final)
        fd, tmp = tempfile.mkstemp(dir=blobs.dir, prefix=".in-")
        try:
            with os.fdopen(fd, "wb") as f:
                got, plain = _stream(session, repo, digest, size, f, on_progress, layer)
            if got != digest:
                raise DigestMismatch(f"filesystem layer verification failed for digest {digest}")
            if plain is not None and plain.error:
                raise DigestMismatch(f"{digest}: {plain.error}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    return Fetched(final, plain.digest if plain else None, plain.size if plain else None)


def _stream(session: Session, repo: str, digest: str, size: int, f, on_progress: Progress | None,
            layer: bool) -> tuple[str, _Uncompressed | None]:
    """Write the blob to ``f``, resuming with Range when the connection drops; (digest, plain hasher)."""
    sha = hashlib.sha256()
    written, resumes, plain = 0, 0, None
    last = 0.0
    path = f"/v2/{repo}/blobs/{digest}"
    while True:
        headers = {"Range": f"bytes={written}-"} if written else {}
        resp = session.request("GET", path, f"repository:{repo}:pull", headers=headers, stream=True, follow=True)
        try:
            if resp.status_code == 200 and written:      # the server ignored Range: start again
                f.seek(0)
                f.truncate()
                sha, written, plain = hashlib.sha256(), 0, None
            elif resp.status_code not in (200, 206):
                resp.read()
                code, message = registry_error(resp)
                raise RegistryError(f"fetching blob {digest} of {repo}: {resp.status_code} "
                                    f"{code_text(code) or resp.reason_phrase}: {message}".rstrip(": "))
            try:
                for chunk in resp.iter_raw():
                    if plain is None and layer:
                        plain = _Uncompressed(chunk)
                    f.write(chunk)
                    sha.update(chunk)
                    if plain is not None:
                        plain.feed(chunk)
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
        return "sha256:" + sha.hexdigest(), plain
