"""engine.supervisor.events and protocol, pure (no root): Docker's event filters, --since/--until
times, the on-disk history, and typed errors across the socket."""
from __future__ import annotations

import signal

import pytest

from engine.errors import Conflict, EngineError, InvalidArgument, NotFound
from engine.supervisor import protocol
from engine.supervisor.events import EventLog, check_filters, container_event, matches, since_until_ns

REC = {"Id": "ab" * 32, "Name": "/web-1", "ImageRef": "busybox:latest",
       "Config": {"Labels": {"com.docker.compose.project": "demo", "tier": "front"}}}


def test_container_event_shape():
    ev = container_event("die", REC, exitCode=3)
    assert ev["Type"] == "container" and ev["Action"] == ev["status"] == "die" and ev["id"] == REC["Id"]
    attrs = ev["Actor"]["Attributes"]
    assert attrs == {"com.docker.compose.project": "demo", "tier": "front", "image": "busybox:latest",
                     "name": "web-1", "exitCode": "3"}
    assert ev["timeNano"] // 10**9 == ev["time"] and ev["scope"] == "local"


@pytest.mark.parametrize("filters, expected", [
    ({"event": ["die"]}, False),
    ({"event": ["health_status"]}, True),            # fuzzy, like Docker (#25798)
    ({"event": ["health_status: healthy"]}, True),
    ({"event": ["health_status: unhealthy"]}, False),
    ({"container": ["abab"]}, True),                 # id prefix
    ({"container": ["web-1"]}, True),
    ({"container": ["web-2"]}, False),
    ({"label": ["tier"]}, True),
    ({"label": ["tier=front", "com.docker.compose.project=demo"]}, True),
    ({"label": ["tier=back"]}, False),
    ({"type": ["container"]}, True),
    ({"type": ["network"]}, False),
    ({"image": ["busybox"]}, True),
])
def test_filters(filters, expected):
    ev = container_event("health_status: healthy", REC)
    assert matches(ev, check_filters(filters)) is expected


def test_unknown_filter_is_refused():
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        check_filters({"colour": ["red"]})


def test_parse_time_forms():
    now = 1_700_000_000 * 10**9
    assert since_until_ns("1700000000", now) == now
    assert since_until_ns("1700000000.5", now) == now + 500_000_000
    assert since_until_ns(1700000000.25, now) == now + 250_000_000
    assert since_until_ns("10m", now) == now - 600 * 10**9
    assert since_until_ns("1h30m", now) == now - 5400 * 10**9
    assert since_until_ns("2023-11-14T22:13:20Z", now) == now
    assert since_until_ns(None) is None
    with pytest.raises(InvalidArgument, match="invalid time"):
        since_until_ns("yesterday")


def test_history_since_until_and_trim(tmp_path, monkeypatch):
    import engine.supervisor.events as events

    monkeypatch.setattr(events, "KEEP", 10)
    log = EventLog(tmp_path / "events.jsonl")
    evs = []
    for i in range(25):
        ev = container_event("start", REC)
        ev["timeNano"] = i
        log.append(ev)
        evs.append(ev)
    kept = log.history(0, None, {})
    assert 10 <= len(kept) <= 20 and kept[-1]["timeNano"] == 24  # trimmed to the newest
    assert [e["timeNano"] for e in log.history(20, 22, {})] == [20, 21, 22]
    (tmp_path / "events.jsonl").open("a").write('{"cut by a cra')
    assert len(EventLog(tmp_path / "events.jsonl").history(0, None, {})) == len(kept)


def test_errors_keep_their_type_across_the_socket():
    for exc in (Conflict("busy"), NotFound("No such container: x"), InvalidArgument("bad")):
        reply = protocol.decode(protocol.encode(protocol.error_reply(exc)))
        with pytest.raises(type(exc), match=str(exc)):
            protocol.raise_reply(reply)
    with pytest.raises(EngineError, match="supervisor: KeyError"):
        protocol.raise_reply(protocol.error_reply(KeyError("x")))


def test_start_error_keeps_its_status():
    from engine.runtime.errors import StartError

    reply = protocol.error_reply(StartError("exec: \"nope\": executable file not found in $PATH", 127))
    with pytest.raises(StartError) as e:
        protocol.raise_reply(reply)
    assert e.value.status == 127


def test_signals():
    assert protocol.signal_number("SIGTERM") == protocol.signal_number("term") == protocol.signal_number(15) == 15
    assert protocol.signal_number("SIGRTMIN+2") == signal.SIGRTMIN + 2
    with pytest.raises(InvalidArgument, match="Invalid signal: SIGNOPE"):
        protocol.signal_number("SIGNOPE")
    with pytest.raises(InvalidArgument):
        protocol.signal_number(99)
