"""DirectWriter: the blob written past the page cache is byte for byte what was written."""
from __future__ import annotations

import fcntl
import hashlib
import os

import pytest

from engine.images import blobs
from engine.images.directio import ALIGN, BUFFER, DirectWriter

SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, BUFFER - 1, BUFFER, BUFFER + 1, 3 * BUFFER + 5000]


def _chunks(data: bytes, step: int):
    return [data[i:i + step] for i in range(0, len(data), step)] or [b""]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", [1000, 65536, 1 << 20, 3 << 20])
def test_content_is_what_was_written(tmp_path, size, step):
    data = os.urandom(size)
    path = tmp_path / "blob"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    with DirectWriter(fd) as w:
        assert w.direct, "this filesystem takes O_DIRECT (ext4 and tmpfs do since 6.6)"
        for c in _chunks(data, step):
            assert w.write(c) == len(c)
    assert path.read_bytes() == data


def test_start_over_keeps_only_the_second_attempt(tmp_path):
    path = tmp_path / "blob"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    first, second = os.urandom(BUFFER + 777), os.urandom(2 * BUFFER + 3)
    with DirectWriter(fd) as w:
        w.write(first)
        w.seek(0)
        w.truncate()
        w.write(second)
    assert path.read_bytes() == second


def test_plain_writes_when_the_filesystem_refuses(tmp_path, monkeypatch):
    """A filesystem without O_DIRECT (fcntl fails): same file, written plainly."""
    real = fcntl.fcntl

    def refusing(fd, cmd, arg=0):
        if cmd == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(22, "Invalid argument")
        return real(fd, cmd, arg)

    monkeypatch.setattr(fcntl, "fcntl", refusing)
    data = os.urandom(BUFFER + 10)
    path = tmp_path / "blob"
    with DirectWriter(os.open(path, os.O_WRONLY | os.O_CREAT)) as w:
        assert not w.direct
        w.write(data)
    assert path.read_bytes() == data


def test_only_seek_to_start_and_truncate_to_nothing(tmp_path):
    with DirectWriter(os.open(tmp_path / "b", os.O_WRONLY | os.O_CREAT)) as w:
        w.write(b"x" * 10)
        with pytest.raises(ValueError):
            w.seek(5)
        with pytest.raises(ValueError):
            w.truncate(3)


def test_put_stream_blob_named_by_its_digest(tmp_path):
    import io

    store = blobs.BlobStore(tmp_path)
    data = os.urandom(2 * BUFFER + 12345)
    digest, size = store.put_stream(io.BytesIO(data))
    assert (digest, size) == ("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    assert store.read(digest) == data
    assert [p.name for p in store.dir.iterdir()] == [digest.split(":")[1]]


def test_failed_write_leaves_no_temp_file(tmp_path):
    store = blobs.BlobStore(tmp_path)
    with pytest.raises(RuntimeError):
        with blobs.atomic_file(store.dir / "x", store.dir, direct=True) as f:
            f.write(os.urandom(BUFFER + 1))
            raise RuntimeError("cut")
    assert list(store.dir.iterdir()) == []
