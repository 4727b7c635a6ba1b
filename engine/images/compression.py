"""Detect and undo layer/archive compression (gzip, zstd, xz, bzip2, plain).

Image layers and archives arrive compressed in any of these forms; the rest of
the image code reads plain tar streams, so it asks here for one. Gzip, the common
case, is inflated directly in chunks of up to 1 MiB (``Gunzip``): the standard
``gzip.GzipFile`` reads 8 KiB at a time through three Python layers, which made a
pull's unpack thread hold the GIL for most of its decompression. The inflater is
zlib-ng's (python-zlib-ng, zlib's API): about twice zlib's speed on real layers; zlib
when that wheel is missing.
"""
from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
from typing import BinaryIO, Callable

from engine.images.blobs import read_chunks

GZIP, ZSTD, XZ, BZIP2, PLAIN = "gzip", "zstd", "xz", "bzip2", "plain"
CHUNK = 1 << 20

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
        return Gunzip(f)
    if kind == ZSTD:
        import zstandard   # only zstd layers pay for its import

        return _Closing(zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True), f)
    if kind == XZ:
        return lzma.LZMAFile(f)
    return bz2.BZ2File(f)


class _Wrapper:
    """A reader over ``self._raw`` that closes it, usable in ``with``."""

    _raw: BinaryIO

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _inflater():
    """zlib-ng's module (about 2x zlib's inflate speed, same API), else zlib."""
    try:
        from zlib_ng import zlib_ng
        return zlib_ng
    except ImportError:   # a platform without its wheel
        import zlib
        return zlib


class ChunkedReader:
    """Reads served from the chunks ``_next_chunk()`` makes (b"" at the end): a read that
    fits takes a whole chunk (no copy), a smaller one a slice of it."""

    _chunk: bytes = b""
    _pos: int = 0

    def _next_chunk(self) -> bytes:
        raise NotImplementedError

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return b"".join(read_chunks(self, CHUNK))
        while self._pos >= len(self._chunk):
            chunk = self._next_chunk()
            if not chunk:
                return b""
            self._chunk, self._pos = chunk, 0
        out = self._chunk if self._pos == 0 and n >= len(self._chunk) else self._chunk[self._pos:self._pos + n]
        self._pos += len(out)
        return out


class Gunzip(ChunkedReader, _Wrapper):
    """The inflated bytes of a gzip stream (one member or several, zero padding after them),
    read from ``raw`` in chunks of up to 1 MiB; zlib checks each member's CRC and length.

    Output is inflated up to 4 MiB at a time and handed out from there, so small reads
    copy only what they take. Errors are the standard module's: BadGzipFile for bad data,
    EOFError when the stream ends inside a member."""

    OUT = 4 << 20

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._zlib = _inflater()
        self._z = self._zlib.decompressobj(31)
        self._fed = False        # the current member has had input
        self._done = False

    def _next_chunk(self) -> bytes:
        while not self._done:
            data = self._z.unconsumed_tail or self._next_input()
            if data is None:
                break
            try:
                out = self._z.decompress(data, self.OUT)
            except self._zlib.error as e:
                raise gzip.BadGzipFile(f"corrupt gzip stream: {e}") from None
            if out:
                return out
        return b""

    def _next_input(self) -> bytes | None:
        """Input for the decompressor; None at the end of the last member."""
        rest = b""
        if self._z.eof:            # a member ended: padding, or the next member
            rest = self._z.unused_data.lstrip(b"\0")
            self._z, self._fed = self._zlib.decompressobj(31), False
        while not rest:
            rest = self._raw.read(CHUNK)
            if not rest:
                if self._fed:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                self._done = True
                return None
            if not self._fed:
                rest = rest.lstrip(b"\0")
        self._fed = True
        return rest


class _Prefixed(_Wrapper):
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


class CountingReader(_Wrapper):
    """Passes reads through and tells ``on_read`` the running total (Extracting progress)."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]):
        self._raw, self._on_read, self.count = raw, on_read, 0

    def read(self, n: int = -1) -> bytes:
        b = self._raw.read(n)
        self.count += len(b)
        self._on_read(self.count)
        return b


class _Closing(_Wrapper):
    """A stream reader that also closes the file under it."""

    def __init__(self, reader, raw):
        self._reader, self._raw = reader, raw

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return b"".join(read_chunks(self._reader, CHUNK))
        return self._reader.read(n)

    def close(self) -> None:
        self._reader.close()
        super().close()


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
        for _ in read_chunks(self, CHUNK):
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
    with open(path, "rb") as f:
        h = HashingReader(f)
        h.drain()
    return h.digest, h.size
