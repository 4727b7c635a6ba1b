"""Content-addressed blob store: ``$ROOT/images/blobs/sha256/<hex>`` (OCI image layout).

Blobs are written to a temp file while hashed and renamed to their digest, so a
blob under its name always has exactly that content.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from engine.errors import InvalidArgument


class BlobStore:
    def __init__(self, images_dir: Path):
        self.dir = images_dir / "blobs" / "sha256"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not all(c in "0123456789abcdef" for c in hexd):
            raise InvalidArgument(f"unsupported digest {digest!r}")
        return self.dir / hexd

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put_bytes(self, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        p = self.path(digest)
        if not p.exists():
            self._commit(lambda f: f.write(data), p)
        return digest

    def put_stream(self, stream: BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Store ``stream``; returns (digest, size). Raises when ``expected`` does not match."""
        sha = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".in-")
        try:
            with os.fdopen(fd, "wb") as f:
                while True:
                    b = stream.read(1 << 20)
                    if not b:
                        break
                    sha.update(b)
                    size += len(b)
                    f.write(b)
            digest = "sha256:" + sha.hexdigest()
            if expected and expected != digest:
                raise InvalidArgument(f"blob content does not match its digest {expected} (got {digest})")
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path(digest))
            return digest, size
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def read(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(digest).unlink()

    def _commit(self, write, p: Path) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".in-")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.chmod(tmp, 0o644)
            os.replace(tmp, p)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
