"""engine.supervisor.logwriter: Docker's json-file lines, 16 KiB partial splits, rotation."""
from __future__ import annotations

import gzip
import json

import pytest

from engine.errors import InvalidArgument
from engine.supervisor.logwriter import MAX_PARTIAL, JsonFileWriter, format_time, log_options, max_size_option


def entries(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def written(path, chunks, stream="stdout", **options):
    """``path`` after a JsonFileWriter (``options``: max_size, max_file, compress) wrote ``chunks``
    of ``stream`` output one write at a time and was closed."""
    w = JsonFileWriter(path, **options)
    for chunk in chunks:
        w.write(stream, chunk)
    w.close()
    return path


def test_lines_streams_and_nanosecond_times(tmp_path):
    clock = iter([1_700_000_000_123456789, 1_700_000_001_000000005, 1_700_000_002_0]).__next__
    w = JsonFileWriter(tmp_path / "c-json.log", clock=clock)
    w.write("stdout", b"hello\nwor")
    w.write("stderr", b"oops\n")
    w.close()  # flushes the unterminated "wor"
    raw = (tmp_path / "c-json.log").read_text().splitlines()
    assert raw[0] == '{"log":"hello\\n","stream":"stdout","time":"2023-11-14T22:13:20.123456789Z"}'
    got = entries(tmp_path / "c-json.log")
    assert [(e["stream"], e["log"]) for e in got] == [("stdout", "hello\n"), ("stderr", "oops\n"),
                                                       ("stdout", "wor")]
    assert got[1]["time"] == "2023-11-14T22:13:21.000000005Z"


def test_line_split_across_chunks_is_one_entry(tmp_path):
    path = written(tmp_path / "l.log", (b"ab", b"cd", b"e\nf", b"g\n"))
    assert [e["log"] for e in entries(path)] == ["abcde\n", "fg\n"]


def test_long_line_split_in_16k_partials_like_docker(tmp_path):
    logs = [e["log"] for e in entries(written(tmp_path / "p.log", [b"x" * (MAX_PARTIAL * 2 + 10) + b"\n"]))]
    assert [len(x) for x in logs] == [MAX_PARTIAL, MAX_PARTIAL, 11]
    assert logs[-1].endswith("\n") and not logs[0].endswith("\n")


def test_invalid_utf8_replaced(tmp_path):
    path = written(tmp_path / "u.log", ["é\n".encode() + b"\xff\n"])
    assert [e["log"] for e in entries(path)] == ["é\n", "\ufffd\n"]


def test_rotation_keeps_max_file(tmp_path):
    path = written(tmp_path / "r.log", (f"line {i:03d}\n".encode() for i in range(40)), max_size=200, max_file=3)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["r.log", "r.log.1", "r.log.2"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size < 200 + 100  # at most one entry over max-size, like Docker
    newest = [e["log"] for e in entries(path)]
    older = [e["log"] for e in entries(tmp_path / "r.log.1")]
    assert newest[-1] == "line 039\n"
    assert int(older[-1].split()[1]) + 1 == int(newest[0].split()[1])  # no line lost between files


def test_rotation_with_one_file_truncates(tmp_path):
    path = written(tmp_path / "t.log", (f"{i}\n".encode() for i in range(10)), max_size=100, max_file=1)
    assert [p.name for p in tmp_path.iterdir()] == ["t.log"]
    assert entries(path)[-1]["log"] == "9\n"


def test_rotation_compressed(tmp_path):
    written(tmp_path / "z.log", (f"entry {i}\n".encode() for i in range(6)), "stderr", max_size=100, max_file=2,
            compress=True)
    assert (tmp_path / "z.log.1.gz").exists()
    old = [json.loads(x) for x in gzip.decompress((tmp_path / "z.log.1.gz").read_bytes()).splitlines()]
    assert old and all(e["stream"] == "stderr" for e in old)


def test_options_and_sizes():
    assert max_size_option("10m") == 10 * 1024 * 1024 and max_size_option("512k") == 512 * 1024 and max_size_option("100") == 100
    assert log_options({"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}}) == (True, 1024, 3, False)
    assert log_options(None) == (True, -1, 1, False)
    assert log_options({"Type": "none"})[0] is False
    with pytest.raises(InvalidArgument, match="max-size"):
        log_options({"Config": {"max-size": "ten"}})
    with pytest.raises(InvalidArgument, match="max-file"):
        log_options({"Config": {"max-file": "3"}})
    with pytest.raises(InvalidArgument, match="unknown log opt"):
        log_options({"Config": {"max-sise": "1k"}})
    with pytest.raises(InvalidArgument, match="syslog"):
        log_options({"Type": "syslog"})
    assert format_time(5) == "1970-01-01T00:00:00.000000005Z"
