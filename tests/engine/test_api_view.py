"""Pure Docker-shape rules behind engine.api (engine/containerview.py): the image-config merge at
create, STATUS strings, list filters, time and signal parsing, anonymous volume names, mounts."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from engine import containerview as v
from engine.errors import InvalidArgument

NOW = 1_800_000_000.0


def iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def test_merge_like_the_docker_daemon():
    image = {"Env": ["PATH=/bin", "A=image"], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/srv",
             "User": "www", "Labels": {"l": "image", "m": "image"}, "ExposedPorts": {"80/tcp": {}},
             "Volumes": {"/data": {}}, "StopSignal": "SIGQUIT",
             "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Retries": 2}}
    c = v.merge_image_config({"Env": ["A=mine"], "Labels": {"m": "mine"}, "Healthcheck": {"Retries": 7}}, image)
    assert c["Env"] == ["A=mine", "PATH=/bin"]
    assert c["Cmd"] == ["sh"] and c["Entrypoint"] is None
    assert c["WorkingDir"] == "/srv" and c["User"] == "www" and c["StopSignal"] == "SIGQUIT"
    assert c["Labels"] == {"l": "image", "m": "mine"}
    assert c["ExposedPorts"] == {"80/tcp": {}} and c["Volumes"] == {"/data": {}}
    assert c["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Retries": 7}
    # an entrypoint of the container drops the image's Cmd
    c = v.merge_image_config({"Entrypoint": ["/bin/echo"]}, image)
    assert c["Entrypoint"] == ["/bin/echo"] and c["Cmd"] is None
    c = v.merge_image_config({"Cmd": ["ls"]}, {"Entrypoint": ["/x"], "Cmd": ["y"]})
    assert c["Entrypoint"] == ["/x"] and c["Cmd"] == ["ls"]


@pytest.mark.parametrize("state,text", [
    ({"Status": "created"}, "Created"),
    ({"Status": "running", "Running": True, "StartedAt": iso(NOW - 5)}, "Up 5 seconds"),
    ({"Status": "running", "Running": True, "StartedAt": iso(NOW - 0.2)}, "Up Less than a second"),
    ({"Status": "running", "Running": True, "StartedAt": iso(NOW - 3600), "Health": {"Status": "healthy"}},
     "Up About an hour (healthy)"),
    ({"Status": "running", "Running": True, "StartedAt": iso(NOW - 61), "Health": {"Status": "starting"}},
     "Up About a minute (health: starting)"),
    ({"Status": "running", "Running": True, "StartedAt": iso(NOW - 120), "Health": {"Status": "unhealthy"}},
     "Up 2 minutes (unhealthy)"),
    ({"Status": "paused", "Running": True, "Paused": True, "StartedAt": iso(NOW - 2)}, "Up 2 seconds (Paused)"),
    ({"Status": "restarting", "Restarting": True, "ExitCode": 1, "StartedAt": iso(NOW - 9),
      "FinishedAt": iso(NOW - 1)}, "Restarting (1) 1 second ago"),
    ({"Status": "exited", "ExitCode": 0, "StartedAt": iso(NOW - 500), "FinishedAt": iso(NOW - 180)},
     "Exited (0) 3 minutes ago"),
    ({"Status": "exited", "ExitCode": 137, "StartedAt": iso(NOW - 10 * 86400), "FinishedAt": iso(NOW - 3 * 86400)},
     "Exited (137) 3 days ago"),
    ({"Status": "dead"}, "Dead"),
])
def test_status_strings(state, text):
    assert v.status_string(state, now=NOW) == text


def _rec(**kw):
    base = {"Id": "ab" * 32, "Name": "/web-1", "Image": "sha256:" + "cd" * 32,
            "Config": {"Image": "busybox", "Labels": {"com.docker.compose.project": "p", "tier": "front"}},
            "HostConfig": {"Binds": ["data:/data", "/anon"]},
            "State": {"Status": "exited", "ExitCode": 2, "StartedAt": iso(NOW - 9), "FinishedAt": iso(NOW - 1)}}
    base.update(kw)
    return base


def test_filters():
    rec = _rec()
    m = lambda f: v.matches(rec, v.check_filters(f), set(), lambda r: {"bridge"})  # noqa: E731
    assert m({"label": ["tier"]}) and m({"label": ["tier=front", "com.docker.compose.project=p"]})
    assert not m({"label": ["tier=back"]}) and m({"label": ["tier!=back"]})
    assert m({"name": ["web"]}) and m({"name": ["^/web-1$"]}) and not m({"name": ["db"]})
    assert m({"id": ["abab"]}) and not m({"id": ["ffff"]})
    assert m({"status": ["exited"]}) and not m({"status": ["running"]})
    assert m({"exited": ["2"]}) and not m({"exited": ["0"]})
    assert m({"health": ["none"]}) and not m({"health": ["healthy"]})
    assert m({"ancestor": ["busybox"]}) and m({"ancestor": ["cdcdcd"]}) and not m({"ancestor": ["alpine"]})
    assert m({"volume": ["data"]}) and m({"volume": ["/data"]}) and not m({"volume": ["other"]})
    assert m({"network": ["bridge"]}) and not m({"network": ["front"]})
    for bad in ({"colour": ["x"]}, {"status": ["sleeping"]}, {"health": ["ok"]}, {"exited": ["x"]}):
        with pytest.raises(InvalidArgument, match="invalid filter"):
            v.check_filters(bad)


def test_anonymous_volumes_and_mounts():
    rec = _rec(Config={"Image": "busybox", "Volumes": {"/img": {}, "/data": {}}},
               HostConfig={"Binds": ["data:/data:ro", "/anon", "/host:/h"], "Tmpfs": {"/t": ""},
                           "Mounts": [{"Type": "volume", "Target": "/m"}]})
    anon = v.anonymous_volumes(rec)
    assert anon == [v.anonymous_volume_name(rec["Id"], p) for p in ("/anon", "/m", "/img")]
    assert all(len(a) == 64 for a in anon)
    ms = {m["Destination"]: m for m in v.mounts(rec, Path("/r/volumes"))}
    assert ms["/data"]["Name"] == "data" and ms["/data"]["RW"] is False
    assert ms["/data"]["Source"] == "/r/volumes/data/_data"
    assert ms["/h"]["Type"] == "bind" and ms["/h"]["Source"] == "/host"
    assert ms["/img"]["Name"] == anon[2]
    assert v.volume_names(rec) == {"data", *anon}


def test_times():
    assert v.since_until_seconds("2026-01-01T00:00:00Z") == 1767225600.0
    assert v.since_until_seconds("2026-01-01T01:00:00+01:00") == 1767225600.0
    assert v.since_until_seconds("1767225600.5") == 1767225600.5
    assert v.since_until_seconds("10m", now=NOW) == NOW - 600
    assert v.since_until_seconds("1h30m", now=NOW) == NOW - 5400
    with pytest.raises(InvalidArgument, match="invalid time value"):
        v.since_until_seconds("yesterday")


def test_signals_and_commands():
    assert v.parse_signal("TERM") == signal.SIGTERM == v.parse_signal("SIGTERM") == v.parse_signal("15")
    assert v.parse_signal("SIGRTMIN+3") == signal.SIGRTMIN + 3
    with pytest.raises(InvalidArgument, match="Invalid signal"):
        v.parse_signal("SIGNOPE")
    rec = _rec(Config={"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo 'a b'; exit 3"]})
    assert v.command_string(rec) == "/bin/sh -c 'echo '\"'\"'a b'\"'\"'; exit 3'"
    assert v.process_args(rec) == ["/bin/sh", "-c", "echo 'a b'; exit 3"]


def test_port_bindings_are_checked_without_the_network_package():
    v.check_port_bindings({"80/tcp": [{"HostIp": "", "HostPort": "8000-8010"}]}, {"53/udp": {}})
    for bad in ({"80/xtp": []}, {"0/tcp": []}, {"80/tcp": [{"HostPort": "x"}]}, {"80/tcp": [{"HostPort": "70000"}]}):
        with pytest.raises(InvalidArgument, match="invalid port specification"):
            v.check_port_bindings(bad, None)
