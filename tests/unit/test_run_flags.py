"""docker run/create flags -> ContainerCreate body (engine/cli/run_flags.py)."""
from __future__ import annotations

import argparse

import pytest

from engine.cli import run_flags as rf
from engine.errors import InvalidArgument


def parse(*argv: str, run: bool = True, environ: dict | None = None) -> dict:
    p = argparse.ArgumentParser(conflict_handler="resolve")  # -h is --hostname, as in docker run
    rf.add_create_flags(p, run=run)
    return rf.body_from_args(p.parse_args(list(argv)), environ=environ or {})


def test_image_command_and_entrypoint():
    b = parse("busybox", "sh", "-c", "echo hi; ls -l")
    assert b["Image"] == "busybox"
    assert b["Cmd"] == ["sh", "-c", "echo hi; ls -l"]
    assert "Entrypoint" not in b
    assert parse("--entrypoint", "", "busybox")["Entrypoint"] == [""]
    assert parse("--entrypoint", "/bin/echo", "busybox", "x")["Entrypoint"] == ["/bin/echo"]


def test_options_after_image_belong_to_the_command():
    b = parse("busybox", "ls", "-d", "-e")
    assert b["Cmd"] == ["ls", "-d", "-e"]
    assert "Env" not in b


def test_env_and_env_file(tmp_path):
    f = tmp_path / "env"
    f.write_text("# comment\nA=1\nFROM_HOST\n\nB=two words\n")
    b = parse("--env-file", str(f), "-e", "A=override", "-e", "HOSTVAR", "-e", "UNSET", "busybox",
              environ={"FROM_HOST": "h", "HOSTVAR": "v"})
    assert b["Env"] == ["A=1", "FROM_HOST=h", "B=two words", "A=override", "HOSTVAR=v"]


def test_env_file_missing_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidArgument, match="no such file"):
        parse("--env-file", str(tmp_path / "nope"), "busybox")


def test_labels_and_restart():
    b = parse("-l", "a=1", "--label", "flag", "--restart", "on-failure:3", "busybox")
    assert b["Labels"] == {"a": "1", "flag": ""}
    assert b["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    with pytest.raises(InvalidArgument, match="unknown policy 'sometimes'"):
        parse("--restart", "sometimes", "busybox")
    with pytest.raises(InvalidArgument, match="only be used with 'on-failure'"):
        parse("--restart", "always:3", "busybox")
    with pytest.raises(InvalidArgument, match="--restart and --rm"):
        parse("--rm", "--restart", "always", "busybox")


@pytest.mark.parametrize("text,expected", [
    ("512m", 512 * 1024 ** 2), ("1g", 1024 ** 3), ("1.5g", int(1.5 * 1024 ** 3)), ("1024", 1024),
    ("64MB", 64 * 1024 ** 2), ("2GiB", 2 * 1024 ** 3), ("100k", 102400),
])
def test_ram_bytes(text, expected):
    assert rf.ram_bytes(text) == expected


def test_ram_bytes_rejects_garbage():
    with pytest.raises(InvalidArgument, match='invalid size'):
        rf.ram_bytes("lots")


def test_resources():
    hc = parse("--memory", "64m", "--memory-swap", "-1", "--memory-reservation", "32m", "--cpus", "0.5",
               "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "20", "--shm-size", "128m",
               "busybox")["HostConfig"]
    assert hc["Memory"] == 64 * 1024 ** 2 and hc["MemorySwap"] == -1
    assert hc["MemoryReservation"] == 32 * 1024 ** 2
    assert hc["NanoCpus"] == 500_000_000 and hc["CpuShares"] == 512 and hc["CpusetCpus"] == "0"
    assert hc["PidsLimit"] == 20 and hc["ShmSize"] == 128 * 1024 ** 2


def test_cpus_conflicts_with_quota():
    with pytest.raises(InvalidArgument, match="Nano CPUs and CPU Period"):
        parse("--cpus", "1", "--cpu-quota", "50000", "busybox")


def test_ulimits():
    assert rf.ulimit("nofile=1024:2048") == {"Name": "nofile", "Soft": 1024, "Hard": 2048}
    assert rf.ulimit("nproc=10") == {"Name": "nproc", "Soft": 10, "Hard": 10}
    with pytest.raises(InvalidArgument, match="soft limit must be less"):
        rf.ulimit("nofile=20:10")
    with pytest.raises(InvalidArgument, match="invalid ulimit"):
        rf.ulimit("nofile")


@pytest.mark.parametrize("text,ns", [("30s", 30 * 10 ** 9), ("1m30s", 90 * 10 ** 9), ("500ms", 5 * 10 ** 8),
                                     ("0", 0), ("1.5h", 5400 * 10 ** 9)])
def test_durations(text, ns):
    assert rf.duration_ns(text, "health-interval") == ns


def test_healthcheck_flags():
    b = parse("--health-cmd", "wget -q -O- localhost", "--health-interval", "2s", "--health-retries", "3",
              "--health-timeout", "1s", "--health-start-period", "5s", "--health-start-interval", "100ms",
              "busybox")
    assert b["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- localhost"], "Interval": 2 * 10 ** 9,
                                "Timeout": 10 ** 9, "StartPeriod": 5 * 10 ** 9, "StartInterval": 10 ** 8,
                                "Retries": 3}
    assert parse("--no-healthcheck", "busybox")["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(InvalidArgument, match="conflicts"):
        parse("--no-healthcheck", "--health-cmd", "true", "busybox")
    with pytest.raises(InvalidArgument, match="invalid duration"):
        parse("--health-interval", "soon", "busybox")


def test_ports():
    exposed, bindings = rf.ports(["8080:80", "127.0.0.1:5353:53/udp", "9000-9001:90-91", "443", "[::1]:8443:443"])
    assert exposed == {"80/tcp": {}, "53/udp": {}, "90/tcp": {}, "91/tcp": {}, "443/tcp": {}}
    assert bindings["80/tcp"] == [{"HostIp": "", "HostPort": "8080"}]
    assert bindings["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "5353"}]
    assert bindings["91/tcp"] == [{"HostIp": "", "HostPort": "9001"}]
    assert bindings["443/tcp"] == [{"HostIp": "", "HostPort": ""}, {"HostIp": "::1", "HostPort": "8443"}]
    for bad in ("80/xtp", "a:b:c:d", "1.2.3:80:80", "0", "70000"):
        with pytest.raises(InvalidArgument):
            rf.ports([bad])


def test_publish_flags_in_body():
    b = parse("-p", "8080:80", "-P", "--expose", "9000-9001", "busybox")
    assert set(b["ExposedPorts"]) == {"80/tcp", "9000/tcp", "9001/tcp"}
    assert b["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert b["HostConfig"]["PublishAllPorts"] is True


def test_mounts_volumes_tmpfs():
    b = parse("-v", "data:/data", "-v", "/host:/in:ro", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m",
              "--mount", "type=bind,src=/a,dst=/b,readonly", "--tmpfs", "/run:rw,size=64m", "--read-only",
              "busybox")
    hc = b["HostConfig"]
    assert hc["Binds"] == ["data:/data", "/host:/in:ro"]
    assert hc["Mounts"] == [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024 ** 2}},
                            {"Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": True}]
    assert hc["Tmpfs"] == {"/run": "rw,size=64m"}
    assert hc["ReadonlyRootfs"] is True
    with pytest.raises(InvalidArgument, match="target is required"):
        rf.mount("type=volume,src=x")
    with pytest.raises(InvalidArgument, match="unexpected key"):
        rf.mount("type=volume,target=/x,colour=blue")


def test_security_and_identity():
    b = parse("--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--privileged", "--init", "-u", "1000:1000",
              "-w", "/tmp", "--hostname", "box", "--group-add", "audio", "--security-opt", "no-new-privileges",
              "--sysctl", "net.ipv4.ip_forward=1", "--stop-signal", "SIGUSR1", "--stop-timeout", "3", "busybox")
    hc = b["HostConfig"]
    assert hc["CapAdd"] == ["NET_ADMIN"] and hc["CapDrop"] == ["ALL"] and hc["Privileged"] and hc["Init"]
    assert b["User"] == "1000:1000" and b["WorkingDir"] == "/tmp" and b["Hostname"] == "box"
    assert hc["GroupAdd"] == ["audio"] and hc["SecurityOpt"] == ["no-new-privileges"]
    assert hc["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert b["StopSignal"] == "SIGUSR1" and b["StopTimeout"] == 3
    with pytest.raises(InvalidArgument, match="absolute path"):
        parse("-w", "relative", "busybox")


def test_tty_interactive_and_attach_flags():
    b = parse("-it", "busybox")
    assert b["Tty"] and b["OpenStdin"] and b["AttachStdin"] and b["StdinOnce"]
    assert b["AttachStdout"] is True
    assert parse("-d", "busybox")["AttachStdout"] is False


def test_network_flags():
    b = parse("--network", "front", "--network-alias", "web", "--ip", "10.5.0.9", "--mac-address",
              "02:42:ac:11:00:02", "--dns", "1.1.1.1", "--dns-search", "example.com", "--dns-option", "ndots:2",
              "--add-host", "db:10.0.0.5", "--add-host", "gw=host-gateway", "busybox")
    assert b["HostConfig"]["NetworkMode"] == "front"
    assert b["NetworkingConfig"] == {"EndpointsConfig": {"front": {
        "Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.5.0.9"}, "MacAddress": "02:42:ac:11:00:02"}}}
    hc = b["HostConfig"]
    assert hc["Dns"] == ["1.1.1.1"] and hc["DnsSearch"] == ["example.com"] and hc["DnsOptions"] == ["ndots:2"]
    assert hc["ExtraHosts"] == ["db:10.0.0.5", "gw:host-gateway"]
    assert parse("busybox")["HostConfig"]["NetworkMode"] == "default"
    with pytest.raises(InvalidArgument, match="user-defined networks"):
        parse("--network-alias", "x", "busybox")
    with pytest.raises(InvalidArgument, match="bad format for add-host"):
        parse("--add-host", "justname", "busybox")


def test_log_options():
    hc = parse("--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox")["HostConfig"]
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "3"}}


def test_rm_sets_auto_remove():
    assert parse("--rm", "busybox")["HostConfig"]["AutoRemove"] is True
