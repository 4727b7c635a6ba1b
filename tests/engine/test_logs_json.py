"""The json-file log written by the supervisor, as root: stdout/stderr lines with nanosecond
times, Docker's 16 KiB partials, rotation from LogConfig, tty output, the `none` driver."""
from __future__ import annotations

import json
import re

import pytest

from engine.containers import ContainerStore

pytestmark = pytest.mark.root
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def raw_entries(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_stdout_and_stderr_lines_with_nanosecond_times(eng, make):
    cid = make(["sh", "-c", "echo out1; echo err1 >&2; printf 'no newline'"])
    eng.containers.start(cid)
    assert eng.containers.wait(cid) == 0
    path = ContainerStore(eng.root).log_path(cid)
    assert path.name == f"{cid}-json.log"
    entries = raw_entries(path)
    by_stream = {(e["stream"], e["log"]) for e in entries}
    assert by_stream == {("stdout", "out1\n"), ("stderr", "err1\n"), ("stdout", "no newline")}
    assert all(TIME.match(e["time"]) for e in entries)
    assert all(list(e) == ["log", "stream", "time"] for e in entries)
    stdout_only = [e.data for e in eng.containers.logs(cid, stderr=False)]
    assert stdout_only == [b"out1\n", b"no newline"]


def test_long_line_is_split_in_16k_partials(eng, make):
    cid = make(["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo"])
    eng.containers.start(cid)
    eng.containers.wait(cid)
    logs = [e["log"] for e in raw_entries(ContainerStore(eng.root).log_path(cid))]
    assert [len(x) for x in logs] == [16384, 16384, 40000 - 32768 + 1]


def test_rotation_from_log_config(eng, make):
    cid = make(["sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done"],
               HostConfig={"LogConfig": {"Type": "json-file", "Config": {"max-size": "2k", "max-file": "3"}}})
    eng.containers.start(cid)
    eng.containers.wait(cid)
    base = ContainerStore(eng.root).log_path(cid)
    assert base.exists() and base.with_name(base.name + ".1").exists() and base.with_name(base.name + ".2").exists()
    assert not base.with_name(base.name + ".3").exists()
    for p in (base, base.with_name(base.name + ".1")):
        assert p.stat().st_size <= 2048 + 100
    got = [e.data.decode() for e in eng.containers.logs(cid)]
    assert got[-1] == "line 299\n"
    nums = [int(x.split()[1]) for x in got]
    assert nums == list(range(nums[0], 300))  # the kept files hold a contiguous tail


def test_tty_output_is_stdout(eng, make):
    cid = make(["sh", "-c", "tty; echo to-err >&2"], Tty=True)
    eng.containers.start(cid)
    eng.containers.wait(cid)
    entries = raw_entries(ContainerStore(eng.root).log_path(cid))
    assert {e["stream"] for e in entries} == {"stdout"}
    assert "".join(e["log"] for e in entries).replace("\r\n", "\n") == "/dev/pts/0\nto-err\n"


def test_none_driver_writes_nothing(eng, make):
    cid = make(["echo", "hi"], HostConfig={"LogConfig": {"Type": "none", "Config": {}}})
    eng.containers.start(cid)
    eng.containers.wait(cid)
    assert not ContainerStore(eng.root).log_path(cid).exists() or ContainerStore(eng.root).log_path(cid).read_text() == ""
