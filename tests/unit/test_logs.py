"""Reading json-file logs like `docker logs` (engine/logs.py): rotation, streams, since/until, tail,
follow across rotation, and the end of following when the container stops."""
from __future__ import annotations

import gzip
import json
import threading
import time

import pytest

from engine import logs
from engine.errors import InvalidArgument


def line(text: str, stream: str = "stdout", t: str = "2026-01-01T00:00:00.000000001Z") -> bytes:
    return (json.dumps({"log": text, "stream": stream, "time": t}) + "\n").encode()


def write(path, *lines: bytes, mode="wb"):
    with open(path, mode) as f:
        for ln in lines:
            f.write(ln)


def test_time_parsing_keeps_nanoseconds():
    assert logs.time_ns("1970-01-01T00:00:01.000000002Z") == 1_000_000_002
    assert logs.time_ns("1970-01-01T01:00:00+01:00") == 0
    assert logs.format_time("1970-01-01T00:00:01.5Z") == "1970-01-01T00:00:01.500000000Z"


def test_rotated_files_are_read_oldest_first(tmp_path):
    p = tmp_path / "c-json.log"
    write(p, line("4\n"))
    write(tmp_path / "c-json.log.1", line("3\n"))
    with gzip.open(tmp_path / "c-json.log.2.gz", "wb") as f:
        f.write(line("2\n"))
    write(tmp_path / "c-json.log.3", line("1\n"))
    write(tmp_path / "c-json.log.backup", line("not a rotation\n"))
    assert [e.data for e in logs.read_logs(p)] == [b"1\n", b"2\n", b"3\n", b"4\n"]


def test_stream_filter_tail_and_torn_lines(tmp_path):
    p = tmp_path / "x-json.log"
    write(p, line("out1\n"), line("err1\n", "stderr"), b"{not json}\n", line("out2\n"), line("err2\n", "stderr"),
          b'{"log":"half')
    assert [e.data for e in logs.read_logs(p, stdout=False)] == [b"err1\n", b"err2\n"]
    assert [e.data for e in logs.read_logs(p, tail=2)] == [b"out2\n", b"err2\n"]
    assert [e.data for e in logs.read_logs(p, tail="all")] == [b"out1\n", b"err1\n", b"out2\n", b"err2\n"]
    assert list(logs.read_logs(p, tail=0)) == []
    with pytest.raises(InvalidArgument, match="tail"):
        list(logs.read_logs(p, tail="some"))


def test_since_until(tmp_path):
    p = tmp_path / "x-json.log"
    write(p, line("a\n", t="2026-01-01T00:00:00.5Z"), line("b\n", t="2026-01-01T00:00:01.5Z"),
          line("c\n", t="2026-01-01T00:00:02.5Z"))
    got = [e.data for e in logs.read_logs(p, since="2026-01-01T00:00:01Z", until="2026-01-01T00:00:02Z")]
    assert got == [b"b\n"]
    t1 = logs.time_ns("2026-01-01T00:00:01.5Z") / 1e9
    assert [e.data for e in logs.read_logs(p, since=t1)] == [b"b\n", b"c\n"]
    assert [e.data for e in logs.read_logs(p, since="10m")] == []  # all of it is older than 10 minutes


def test_follow_reads_new_lines_across_rotation_and_stops_with_the_container(tmp_path):
    p = tmp_path / "c-json.log"
    write(p, line("first\n"))
    running = threading.Event()
    running.set()
    got: list[bytes] = []

    def reader():
        for e in logs.read_logs(p, follow=True, alive=running.is_set):
            got.append(e.data)

    t = threading.Thread(target=reader)
    t.start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    write(p, line("second\n"), mode="ab")
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    p.rename(tmp_path / "c-json.log.1")  # rotation, as the supervisor does it
    write(p, line("third\n"))
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    write(p, line("last words\n"), mode="ab")
    running.clear()  # the container stopped: the follower drains and ends
    t.join(10)
    assert not t.is_alive()
    assert got == [b"first\n", b"second\n", b"third\n", b"last words\n"]


def test_follow_with_tail_zero_only_shows_new_lines(tmp_path):
    p = tmp_path / "c-json.log"
    write(p, line("old\n"))
    alive = [True]
    got = []

    def reader():
        for e in logs.read_logs(p, follow=True, tail=0, alive=lambda: alive[0]):
            got.append(e.data)

    t = threading.Thread(target=reader)
    t.start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:  # the reader may start after a write: write until seen
        write(p, line("new\n"), mode="ab")
        time.sleep(0.05)
    alive[0] = False
    t.join(10)
    assert got and set(got) == {b"new\n"}


def test_missing_log_is_empty(tmp_path):
    assert list(logs.read_logs(tmp_path / "none-json.log")) == []
    assert list(logs.read_logs(tmp_path / "none-json.log", follow=True, alive=lambda: False)) == []
