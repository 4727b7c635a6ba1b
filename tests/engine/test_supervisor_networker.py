"""The network worker's pipelined requests (engine.supervisor.networker): replies taken in order,
errors to the request that caused them, a dead worker failing every request still open.

A real worker process with a real NetworkManager on a fresh data root; the requests used
(``warm``, ``detach`` of a container it never saw, an unknown op) touch no kernel object.
"""
from __future__ import annotations

import os
import signal
import shutil
import tempfile
import time

import pytest

from engine.errors import EngineError
from engine.supervisor.networker import NetWorker

pytestmark = pytest.mark.root


@pytest.fixture
def worker():
    root = tempfile.mkdtemp(prefix="pyc-test-netw-", dir="/tmp")
    w = NetWorker(root)
    yield w
    w.close()
    shutil.rmtree(root, ignore_errors=True)


def test_replies_go_to_their_requests_whichever_is_read_first(worker):
    bad = worker.submit("no-such-op")
    good = worker.submit("detach", record={"Id": "0" * 64})
    warm = worker.submit("warm")
    assert worker.pid > 0 and len(worker.pending) == 3
    assert warm.result() is None  # reads the two replies before its own
    assert good.result() is None
    with pytest.raises(EngineError, match="unknown network worker request 'no-such-op'"):
        bad.result()
    assert not worker.pending
    assert worker.call("detach", record={"Id": "1" * 64}) is None  # the same worker goes on serving


def test_a_worker_that_dies_fails_every_open_request_and_the_next_call_starts_another(worker):
    worker.call("warm")
    first = worker.pid
    os.kill(first, signal.SIGSTOP)  # both requests are sent before it can answer either
    a = worker.submit("detach", record={"Id": "0" * 64})
    b = worker.submit("warm")
    os.kill(first, signal.SIGKILL)
    with pytest.raises(EngineError, match="network worker died"):
        b.result()
    with pytest.raises(EngineError, match="network worker died"):
        a.result()
    assert worker.pid == 0 and worker.sock is None  # reaped
    assert worker.call("warm") is None
    assert worker.pid not in (0, first)


def test_a_warm_request_nobody_reads_does_not_keep_the_worker_busy(worker):
    assert worker.idle_for() == 0.0  # no worker yet
    worker.warm()
    assert worker.pid > 0 and len(worker.pending) == 1
    time.sleep(0.2)
    assert worker.idle_for() >= 0.2  # the supervisor's idle timer can end it
    worker.close()
    assert worker.pid == 0 and not worker.pending
