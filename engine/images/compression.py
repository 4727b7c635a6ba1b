"""Detect and undo layer/archive compression (gzip, zstd, xz, bzip2, plain).

Image layers and archives arrive compressed in any of these forms; the rest of
the image code reads plain tar streams, so it asks here for one.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
from typing import BinaryIO

import zstandard

GZIP, ZSTD, XZ, BZIP2, PLAIN = "gzip", "zstd", "xz", "bzip2", "plain"

_MAGIC = (
    (b"\x1f\x8b", GZIP),
    (b"\x28\xb5\x2f\xfd", ZSTD),
    (b"\xfd7zXZ\x00", XZ),
    (b"BZh", BZIP2),
)


def sniff(head: bytes) -> str:
    """Compression named by the first bytes of a stream."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return PLAIN


def detect(path) -> str:
    with open(path, "rb") as f:
        return sniff(f.read(6))


def open_plain(path) -> BinaryIO:
    """Open ``path`` as a readable stream of its uncompressed bytes."""
    kind = detect(path)
    f = open(path, "rb")
    if kind == PLAIN:
        return f
    if kind == GZIP:
        return gzip.GzipFile(fileobj=f, mode="rb")
    if kind == ZSTD:
        return _Closing(zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True), f)
    if kind == XZ:
        return lzma.LZMAFile(f)
    return bz2.BZ2File(f)


class _Closing:
    """A stream reader that also closes the file under it."""

    def __init__(self, reader, raw):
        self._reader, self._raw = reader, raw

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            chunks = []
            while True:
                b = self._reader.read(1 << 20)
                if not b:
                    return b"".join(chunks)
                chunks.append(b)
        return self._reader.read(n)

    def close(self) -> None:
        self._reader.close()
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class HashingReader:
    """Wraps a stream and hashes (sha256) and counts every byte read through it."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        b = self.raw.read(n)
        self.sha.update(b)
        self.size += len(b)
        return b

    def drain(self) -> None:
        """Read to the end (tar padding after the end-of-archive marker counts in the digest)."""
        while self.read(1 << 20):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def digest_of_plain(path) -> tuple[str, int]:
    """sha256 digest and size of the uncompressed content of ``path`` (a layer's diff id)."""
    with open_plain(path) as s:
        h = HashingReader(s)
        h.drain()
    return h.digest, h.size


def digest_of_file(path) -> tuple[str, int]:
    """sha256 digest and size of ``path`` as stored."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            sha.update(b)
            size += len(b)
    return "sha256:" + sha.hexdigest(), size
