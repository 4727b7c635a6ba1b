"""The start path's unsynced /etc file writers (runtime.etcfiles.write_default and the network
manager's hosts/resolv.conf writer): complete content, mode 0644 whatever the umask, no
temporary file left, and an unchanged file is not rewritten (same inode)."""
from __future__ import annotations

import os

import pytest

from engine.network.manager import _write_etc_file
from engine.runtime.etcfiles import write_default


@pytest.fixture
def tight_umask():
    old = os.umask(0o077)
    yield
    os.umask(old)


@pytest.mark.parametrize("writer", [write_default, _write_etc_file])
def test_writes_whole_file_0644_and_leaves_no_temp(tmp_path, tight_umask, writer):
    p = tmp_path / "hosts"
    writer(p, "127.0.0.1\tlocalhost\n")
    assert p.read_text() == "127.0.0.1\tlocalhost\n"
    assert p.stat().st_mode & 0o777 == 0o644
    writer(p, "10.0.0.2\tweb\n")
    assert p.read_text() == "10.0.0.2\tweb\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hosts"]


def test_manager_writer_keeps_an_unchanged_file(tmp_path):
    p = tmp_path / "resolv.conf"
    _write_etc_file(p, "nameserver 10.0.0.1\n")
    ino = p.stat().st_ino
    _write_etc_file(p, "nameserver 10.0.0.1\n")
    assert p.stat().st_ino == ino  # not replaced: no write at all
    _write_etc_file(p, "nameserver 10.0.0.9\n")
    assert p.stat().st_ino != ino and p.read_text() == "nameserver 10.0.0.9\n"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    p = tmp_path / "hosts"
    write_default(p, "old\n")
    with pytest.raises(TypeError):
        write_default(p, b"not text")  # type: ignore[arg-type]
    assert p.read_text() == "old\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hosts"]
