"""Malformed requests on the supervisor's socket: truncated, oversized, not JSON, wrong types,
missing fields, names that try to leave the data root. Each is answered with an error, and the
supervisor goes on serving: a container started before keeps running and answers ``wait``."""
from __future__ import annotations

import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api import Engine
from engine.supervisor import protocol

pytestmark = pytest.mark.root

OPS = ["ping", "start", "stop", "kill", "restart", "pause", "unpause", "wait", "events", "notify", "nope", ""]
ODD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                       st.text(max_size=80), st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


def exchange(sock_path: str, data: bytes, half_close: bool = True, timeout: float = 30) -> dict | None:
    """Send raw bytes, read the one-line reply (None when the daemon just closed)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except BrokenPipeError:
            pass  # the daemon answered and hung up before reading all of it (oversized): read the answer
        line = s.makefile("rb").readline(protocol.MAX_LINE)
    finally:
        s.close()
    return json.loads(line) if line else None


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A supervisor with one running container, shared by the cases of this module."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from faultkit import load_busybox

    if os.geteuid() != 0:
        pytest.skip("needs root")
    root = Path(tempfile.mkdtemp(prefix="pyc-test-fault-sock-", dir="/tmp"))
    eng = Engine(str(root))
    try:
        load_busybox(root)
        cid = eng.containers.create({"Image": "busybox", "Cmd": ["sleep", "3600"],
                                     "HostConfig": {"NetworkMode": "none"}})
        eng.containers.start(cid)
        pid = eng.supervisor.running_pid()
        yield eng, cid, str(root / "run" / "supervisor.sock"), pid
        eng.containers.remove(cid, force=True)
    finally:
        eng.shutdown()
        shutil.rmtree(root, ignore_errors=True)


def name_of(eng: Engine, cid: str) -> str:
    return eng.containers.inspect(cid)["Name"].lstrip("/")


def still_serving(eng: Engine, cid: str, pid: int) -> None:
    assert eng.supervisor.running_pid() == pid  # the same daemon, not a restarted one
    st = eng.containers.inspect(cid)["State"]
    assert st["Running"] and st["Status"] == "running"


CASES = {
    "not json": b"hello\n",
    "json, not an object": b"[1, 2, 3]\n",
    "invalid utf-8": b'{"op": "\xff\xfe"}\n',
    "nested too deeply": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "no op": b"{}\n",
    "unknown op": b'{"op": "format-disk"}\n',
    "op not a string": b'{"op": 7}\n',
    "id missing": b'{"op": "start"}\n',
    "id a number": b'{"op": "stop", "id": 12}\n',
    "id a list": b'{"op": "kill", "id": ["a"]}\n',
    "id climbing out": ('{"op": "start", "id": "' + "../" * 21 + 'x"}\n').encode(),
    "id unknown": b'{"op": "pause", "id": "nosuchcontainer"}\n',
    "timeout a string": b'{"op": "stop", "id": "x", "timeout": "soon"}\n',
    "signal a list": b'{"op": "kill", "id": "x", "signal": []}\n',
    "signal unknown": b'{"op": "kill", "id": "x", "signal": "SIGNOPE"}\n',
    "condition unknown": b'{"op": "wait", "id": "x", "condition": "forever"}\n',
    "filters a number": b'{"op": "events", "filters": 5}\n',
    "filter values numbers": b'{"op": "events", "filters": {"label": [1, 2]}}\n',
    "filter unknown": b'{"op": "events", "filters": {"colour": ["red"]}}\n',
    "event missing": b'{"op": "notify"}\n',
    "event without actor": b'{"op": "notify", "event": {"Type": "container", "Action": "x"}}\n',
    "event with odd attributes": b'{"op": "notify", "event": {"Type": "container", "Action": "x", '
                                 b'"Actor": {"ID": "a", "Attributes": {"k": [1]}}}}\n',
    "status not a bool": b'{"op": "ping", "status": "yes"}\n',
}


def test_malformed_requests_are_answered_and_the_daemon_keeps_serving(live):
    eng, cid, sock, pid = live
    for what, data in CASES.items():
        reply = exchange(sock, data)
        assert reply is not None, what
        assert reply["ok"] is False, (what, reply)
        assert reply["error"] in ("InvalidArgument", "NotFound", "Conflict"), (what, reply)
        assert reply["message"] and "Error:" not in reply["message"], (what, reply)  # no raw Python error
    still_serving(eng, cid, pid)


def test_truncated_and_oversized_requests(live):
    eng, cid, sock, pid = live
    reply = exchange(sock, b'{"op": "ping"')  # the client ends its side before the newline
    assert reply == {"ok": False, "error": "InvalidArgument",
                     "message": "truncated request: the connection ended before its newline"}
    reply = exchange(sock, b"x" * (protocol.MAX_LINE + 70_000), half_close=False)
    assert reply["ok"] is False and reply["message"].startswith("request too long")
    # a client that connects and leaves without a word gets nothing and costs nothing
    assert exchange(sock, b"") is None
    still_serving(eng, cid, pid)
    assert eng.supervisor.status()["boxes"] >= 1


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(op=st.sampled_from(OPS),
       fields=st.dictionaries(st.sampled_from(["id", "timeout", "signal", "condition", "filters", "since",
                                               "until", "event", "status"]), ODD_VALUES, max_size=4))
def test_generated_requests_never_break_the_daemon(live, op, fields):
    eng, cid, sock, pid = live
    ref = fields.get("id")
    if isinstance(ref, str) and ref.strip() and (cid.startswith(ref.strip()) or ref.strip("/") == name_of(eng, cid)):
        fields["id"] = "not-" + ref  # never act on the witness container itself
    if op == "events":
        fields["until"] = 1  # a stream that ends at once: history only
    if op == "wait":
        fields["condition"] = fields.get("condition") if isinstance(fields.get("condition"), str) else None
    req = dict(fields, op=op)
    reply = exchange(sock, (json.dumps(req) + "\n").encode())
    assert reply is not None and isinstance(reply.get("ok"), bool), (req, reply)
    if not reply["ok"]:
        assert "supervisor: " not in reply["message"], (req, reply)  # typed, not a crash of the op
    assert eng.supervisor.running_pid() == pid


def test_the_daemon_logged_no_traceback(live):
    """Runs after the cases above (file order): every malformed request was refused by a check,
    none reached an operation and crashed it (those print a traceback to the daemon's log)."""
    eng, cid, sock, pid = live
    log = (eng.root.path / "run" / "supervisor.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
