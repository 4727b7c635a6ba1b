"""Detect and undo layer/archive compression (gzip, zstd, xz, bzip2, plain).

Image layers and archives arrive compressed in any of these forms; the rest of
the image code reads plain tar streams, so it asks here for one.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
from typing import BinaryIO, Callable

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


def open_plain(path, on_read: Callable[[int], None] | None = None) -> BinaryIO:
    """Open ``path`` as a readable stream of its uncompressed bytes.

    ``on_read(n)`` hears how many bytes of the file (as stored) have been read so far."""
    kind = detect(path)
    f = open(path, "rb")
    return _decompressing(kind, f if on_read is None else CountingReader(f, on_read))


def open_stream(raw: BinaryIO) -> BinaryIO:
    """The uncompressed bytes of a stream that cannot seek (a download as it arrives)."""
    head = b""
    while len(head) < 6:
        b = raw.read(6 - len(head))
        if not b:
            break
        head += b
    return _decompressing(sniff(head), _Prefixed(head, raw))


def _decompressing(kind: str, f) -> BinaryIO:
    if kind == PLAIN:
        return f
    if kind == GZIP:
        return gzip.GzipFile(fileobj=f, mode="rb")
    if kind == ZSTD:
        return _Closing(zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True), f)
    if kind == XZ:
        return lzma.LZMAFile(f)
    return bz2.BZ2File(f)


class _Prefixed:
    """``head`` (bytes already read to sniff the compression) and then the rest of ``raw``."""

    def __init__(self, head: bytes, raw: BinaryIO):
        self._head, self._raw = head, raw

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._raw.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._raw.read(n)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CountingReader:
    """Passes reads through and tells ``on_read`` the running total (Extracting progress)."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]):
        self._raw, self._on_read, self.count = raw, on_read, 0

    def read(self, n: int = -1) -> bytes:
        b = self._raw.read(n)
        self.count += len(b)
        self._on_read(self.count)
        return b

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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
