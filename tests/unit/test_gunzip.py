"""The pull's gzip reader (zlib in large chunks) reads what gzip.GzipFile reads and refuses what it refuses."""
from __future__ import annotations

import gzip
import io
import os
import threading
import zlib

import pytest

from engine.images.compression import Gunzip, open_stream
from engine.images.streaming import Pipe

TEXT = b"layer content " * 50_000 + os.urandom(200_000)
SECOND = b"second member " * 1000


def read_all(raw: bytes, size: int = 7777) -> bytes:
    """Reads of an odd size, as tarfile's small header reads and large content reads mix."""
    r, out = Gunzip(io.BytesIO(raw)), []
    while b := r.read(size):
        out.append(b)
    return b"".join(out)


@pytest.mark.parametrize("size", [1, 512, 7777, 1 << 20, -1])
def test_one_member_any_read_size(size):
    raw = gzip.compress(TEXT[:300_000] if size == 1 else TEXT)
    want = TEXT[:300_000] if size == 1 else TEXT
    got = Gunzip(io.BytesIO(raw)).read() if size == -1 else read_all(raw, size)
    assert got == want


def test_several_members_and_zero_padding_like_gzip():
    raw = gzip.compress(TEXT) + b"\0" * 600 + gzip.compress(SECOND) + b"\0" * 10
    assert read_all(raw) == gzip.decompress(raw) == TEXT + SECOND


def test_a_compression_bomb_is_inflated_a_few_mib_at_a_time():
    r = Gunzip(io.BytesIO(gzip.compress(b"\0" * (64 << 20))))
    sizes = [len(b) for b in iter(lambda: r.read(64 << 20), b"")]
    assert sum(sizes) == 64 << 20 and max(sizes) <= Gunzip.OUT


@pytest.mark.parametrize("cut, theirs, ours", [
    (lambda raw: raw[:-6], EOFError, EOFError),                                # the trailer cut off
    (lambda raw: raw[:2000], EOFError, EOFError),                              # cut mid-stream
    (lambda raw: raw[:-8] + bytes(4) + raw[-4:], gzip.BadGzipFile, gzip.BadGzipFile),   # wrong CRC
    (lambda raw: raw[:-4] + b"\x01\x02\x03\x04", gzip.BadGzipFile, gzip.BadGzipFile),  # wrong length
    (lambda raw: raw + b"trailing garbage", gzip.BadGzipFile, gzip.BadGzipFile),
    # corrupt deflate data: the gzip module lets zlib.error out, here it is a BadGzipFile (an OSError)
    (lambda raw: raw[:30] + b"\xff" * 64 + raw[94:], zlib.error, gzip.BadGzipFile),
])
def test_damaged_streams_are_refused_as_gzip_refuses_them(cut, theirs, ours):
    raw = cut(gzip.compress(TEXT))
    with pytest.raises(theirs):
        gzip.decompress(raw)
    with pytest.raises(ours):
        read_all(raw)


def test_a_pipe_hands_whole_chunks_to_the_reader_and_slices_only_when_asked():
    pipe = Pipe(depth=4)
    raw = gzip.compress(TEXT)
    chunks = [raw[i:i + 65536] for i in range(0, len(raw), 65536)]

    def produce():
        for c in chunks:
            pipe.write(c)
        pipe.end()

    t = threading.Thread(target=produce)
    t.start()
    with open_stream(pipe) as plain:
        got = plain.read()
    t.join()
    assert got == TEXT and pipe.fed == len(raw)
    p2 = Pipe()
    p2.write(b"abcdef")
    p2.end()
    assert (p2.read(100), p2.read(1)) == (b"abcdef", b"")


def test_zlib_when_zlib_ng_is_missing_reads_the_same(monkeypatch):
    from engine.images import compression

    assert compression._inflater().__name__ == "zlib_ng.zlib_ng"   # installed with pycompose
    monkeypatch.setattr(compression, "_inflater", lambda: zlib)
    raw = gzip.compress(TEXT) + gzip.compress(SECOND)
    assert read_all(raw) == TEXT + SECOND
    with pytest.raises(gzip.BadGzipFile):
        read_all(raw[:30] + b"\xff" * 64 + raw[94:])
