"""Content-addressed blob store: ``$ROOT/images/blobs/sha256/<hex>`` (OCI image layout).

Blobs are written to a temp file while hashed and renamed to their digest, so a
blob under its name always has exactly that content.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from engine.errors import InvalidArgument
from engine.state import make_temp_file

# hashlib (OpenSSL, ~2.5 ms) and directio are imported by the writers: a container's
# create and run only read blobs


def read_chunks(f, size: int = 1 << 20) -> Iterator[bytes]:
    """``f.read(size)`` until it returns nothing."""
    while True:
        b = f.read(size)
        if not b:
            return
        yield b


@contextlib.contextmanager
def atomic_file(final: str | os.PathLike | Callable[[], Path], tmp_dir: str | os.PathLike | None = None,
                prefix: str = ".in-", suffix: str = "", mode: int = 0o644, direct: bool = False) -> Iterator[BinaryIO]:
    """A temp file (in ``tmp_dir``, else beside ``final``) that becomes ``final`` when the block
    ends normally and is removed when it (or ``final()``, a name known only once written) raises,
    so ``final`` is never seen half written. ``direct``: a cold file, written past the page cache
    (``directio.DirectWriter``)."""
    from engine.images.directio import DirectWriter

    fd, tmp = make_temp_file(Path(final).parent if tmp_dir is None else tmp_dir, prefix, suffix)
    try:
        with (DirectWriter(fd) if direct else os.fdopen(fd, "wb")) as f:
            yield f
        os.chmod(tmp, mode)
        os.replace(tmp, final() if callable(final) else final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
        import hashlib

        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        p = self.path(digest)
        if not p.exists():
            with atomic_file(p, self.dir) as f:
                f.write(data)
        return digest

    def put_stream(self, stream: BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Store ``stream``; returns (digest, size). Raises when ``expected`` does not match."""
        import hashlib

        sha = hashlib.sha256()
        size = 0

        def named() -> Path:
            digest = "sha256:" + sha.hexdigest()
            if expected and expected != digest:
                raise InvalidArgument(f"blob content does not match its digest {expected} (got {digest})")
            return self.path(digest)

        with atomic_file(named, self.dir, direct=True) as f:
            for b in read_chunks(stream):
                sha.update(b)
                size += len(b)
                f.write(b)
        return "sha256:" + sha.hexdigest(), size

    def read(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(digest).unlink()
