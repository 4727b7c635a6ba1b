"""Pure helpers of the CLI modules: ps rows and ports, flag parsing for up/run, exec env."""
import argparse
import time

import pytest

from compose.cli import ps, run, up
from compose.cli.exec import env_list, env_pairs
from compose.errors import UsageError


def test_ports_text_like_docker_ps():
    ports = [{"PrivatePort": 80, "PublicPort": 8080, "IP": "0.0.0.0", "Type": "tcp"},
             {"PrivatePort": 80, "PublicPort": 8080, "IP": "::", "Type": "tcp"},
             {"PrivatePort": 443, "Type": "tcp"}]
    assert ps.ports_text(ports) == "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp"


def test_ps_row_json_fields():
    c = {"Id": "a" * 64, "Names": ["/p-web-1"], "Image": "busybox", "Command": "sleep 1", "State": "exited",
         "Status": "Exited (3) 2 seconds ago", "Created": int(time.time()) - 120,
         "Labels": {"com.docker.compose.project": "p", "com.docker.compose.service": "web"}}
    r = ps.row(c)
    assert r["Name"] == "p-web-1" and r["ID"] == "a" * 12 and r["Service"] == "web" and r["Project"] == "p"
    assert r["ExitCode"] == 3 and r["RunningFor"] == "2 minutes ago" and r["Health"] == ""
    assert ps._health("Up 3 seconds (healthy)") == "healthy"
    assert ps._health("Up 1 second (health: starting)") == "starting"


def test_ps_status_filter_validation():
    ns = argparse.Namespace(status=["running"], filter=["status=exited"])
    assert ps.wanted_statuses(ns) == {"running", "exited"}
    with pytest.raises(UsageError, match="invalid status"):
        ps.wanted_statuses(argparse.Namespace(status=["sleeping"], filter=[]))
    with pytest.raises(UsageError, match="only status="):
        ps.wanted_statuses(argparse.Namespace(status=[], filter=["name=x"]))


def test_up_flags():
    assert up.parse_scale(["web=3", "db=0"]) == {"web": 3, "db": 0}
    with pytest.raises(UsageError, match="invalid --scale"):
        up.parse_scale(["web"])
    ns = argparse.Namespace(exit_code_from="t", abort_on_container_exit=False, abort_on_container_failure=False,
                            force_recreate=False, no_recreate=False, detach=False, wait=False, no_start=False)
    up.check_flags(ns)
    assert ns.abort_on_container_exit
    ns.detach = True
    with pytest.raises(UsageError, match="cannot be combined"):
        up.check_flags(ns)
    ns = argparse.Namespace(exit_code_from=None, abort_on_container_exit=False, abort_on_container_failure=False,
                            force_recreate=False, no_recreate=False, detach=False, wait=True, no_start=False)
    up.check_flags(ns)
    assert ns.detach  # --wait implies -d


def test_run_ports_and_volumes():
    assert run.parse_port("8080:80") == {"published": "8080", "target": 80, "protocol": "tcp", "mode": "ingress"}
    assert run.parse_port("127.0.0.1:53:53/udp")["host_ip"] == "127.0.0.1"
    with pytest.raises(UsageError, match="invalid port"):
        run.parse_port("http")
    assert run.parse_volume("./d:/data:ro", "/w", {}) == {
        "type": "bind", "source": "/w/d", "target": "/data", "read_only": True, "bind": {"create_host_path": True}}
    assert run.parse_volume("cache:/c", "/w", {})["type"] == "volume"


def test_exec_env(monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    assert env_list(["A=1", "FROM_HOST", "UNSET_XYZ"]) == {"A": "1", "FROM_HOST": "h"}
    assert env_pairs(["A=1"]) == ["A=1"]
    with pytest.raises(UsageError):
        env_list(["=x"])
