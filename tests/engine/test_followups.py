"""Engine integration follow-ups: lazy network imports, create-time port check, rename in DNS,
exec under the container's seccomp setting, hostname vs. a shared network namespace."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_reading_network_state_does_not_import_netlink_or_dns_libraries():
    # ps / container ls / inspect / network ls build the manager but never talk netlink
    mods = _modules_after("import engine.network\nfrom engine.network import NetworkManager\n"
                          "import engine.network.manager")
    assert "engine.network.manager" in mods
    assert not {m for m in mods if m.split(".")[0] in ("pyroute2", "dnslib")}


def test_netlink_is_imported_when_a_link_function_needs_it():
    # link_exists answers from if_nametoindex (no netlink); listing links needs netlink
    mods = _modules_after("from engine.network import links\nlinks.link_exists('lo')")
    assert "pyroute2" not in mods
    mods = _modules_after("from engine.network import links\nlinks.list_links('pc-')")
    assert "pyroute2" in mods


# ----------------------------------------------------------------------------- real containers (root)

import socket  # noqa: E402

import pytest  # noqa: E402

from engine.errors import Conflict, NotFound  # noqa: E402


@pytest.fixture
def held_port():
    """A TCP port on 127.0.0.1 held by a listening socket of this test."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


def _ids(eng) -> set[str]:
    return {c["Id"] for c in eng.containers.list(all=True)}


@pytest.mark.root
@pytest.mark.parametrize("host_ip", ["127.0.0.1", ""])
def test_create_refuses_a_taken_host_port_and_stores_nothing(eng, make, held_port, host_ip):
    before = _ids(eng)
    body = {"Image": "busybox", "Cmd": ["true"], "ExposedPorts": {"80/tcp": {}},
            "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": host_ip, "HostPort": str(held_port)}]}}}
    shown = host_ip or "0.0.0.0"
    with pytest.raises(Conflict, match=f"^Bind for {shown}:{held_port} failed: port is already allocated$"):
        eng.containers.create(body, name="pyc-fu-taken")
    assert _ids(eng) == before
    with pytest.raises(NotFound):
        eng.containers.inspect("pyc-fu-taken")
    # the name was not reserved either: a container without the port takes it
    make(["true"], name="pyc-fu-taken")


@pytest.mark.root
def test_create_with_a_free_port_or_without_own_network_is_not_refused(eng, make, held_port):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()
    make(["true"], HostConfig={"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(free)}]}})
    # host networking publishes nothing (Docker drops the bindings), so a held port is no conflict
    make(["true"], HostConfig={"NetworkMode": "host",
                               "PortBindings": {"80/tcp": [{"HostPort": str(held_port)}]}})


def _nslookup(eng, cid: str, name: str) -> tuple[int, str]:
    import io

    buf = io.BytesIO()
    code = eng.containers.exec(cid, ["nslookup", "-type=a", name + "."], stdout=buf, stderr=buf)
    return code, buf.getvalue().decode()


@pytest.mark.root
def test_rename_answers_to_the_new_name_in_dns_at_once(eng, net, make):
    old = make(["sleep", "300"], name="pyc-fu-old", HostConfig={"NetworkMode": net})
    asker = make(["sleep", "300"], name="pyc-fu-asker", HostConfig={"NetworkMode": net})
    eng.containers.start(old)
    eng.containers.start(asker)
    ip = eng.containers.inspect(old)["NetworkSettings"]["Networks"][net]["IPAddress"]
    code, out = _nslookup(eng, asker, "pyc-fu-old")
    assert code == 0 and ip in out, out
    eng.containers.rename("pyc-fu-old", "pyc-fu-new")
    code, out = _nslookup(eng, asker, "pyc-fu-new")
    assert code == 0 and ip in out, out
    code, out = _nslookup(eng, asker, "pyc-fu-old")
    assert ip not in out and "NXDOMAIN" in out, out
    assert eng.containers.inspect(old)["NetworkSettings"]["Networks"][net]["DNSNames"][0] == "pyc-fu-new"


def _exec_out(eng, cid: str, script: str) -> tuple[int, str]:
    import io

    buf = io.BytesIO()
    code = eng.containers.exec(cid, ["sh", "-c", script], stdout=buf, stderr=buf)
    return code, buf.getvalue().decode()


SECCOMP_LINE = "grep '^Seccomp:' /proc/self/status"


@pytest.mark.root
@pytest.mark.parametrize("host_config, mode", [
    ({}, "2"),                                           # Docker's default filter, like the container's init
    ({"SecurityOpt": ["seccomp=unconfined"]}, "0"),
    ({"SecurityOpt": ["seccomp:unconfined"]}, "0"),
    ({"Privileged": True}, "0"),
])
def test_exec_gets_the_containers_seccomp_setting(eng, make, host_config, mode):
    cid = make(["sleep", "300"], HostConfig=host_config)
    eng.containers.start(cid)
    code, init = _exec_out(eng, cid, "grep '^Seccomp:' /proc/1/status")
    assert code == 0 and init.split() == ["Seccomp:", mode], init
    code, out = _exec_out(eng, cid, SECCOMP_LINE)
    assert code == 0 and out.split() == ["Seccomp:", mode], out
    # what the default filter refuses without CAP_SYS_ADMIN: a new user namespace
    code, out = _exec_out(eng, cid, "unshare -U true 2>&1 && echo allowed")
    assert ("allowed" in out) == (mode == "0"), out


@pytest.mark.root
def test_exec_gets_the_containers_json_seccomp_profile(eng, make):
    import json

    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
    cid = make(["sleep", "300"], HostConfig={"SecurityOpt": [f"seccomp={json.dumps(profile)}"]})
    eng.containers.start(cid)
    code, out = _exec_out(eng, cid, "mkdir /tmp/d 2>&1; touch /tmp/f && echo touch-ok")
    assert "Permission denied" in out and "touch-ok" in out, out
    assert not _exec_out(eng, cid, "test -d /tmp/d")[0] == 0


def test_anonymous_volume_names_come_from_the_runtime():
    from engine import containerview
    from engine.runtime import build

    assert containerview.anonymous_volume_name("c" * 64, "/data/") == build.anonymous_volume_name("c" * 64, "/data")
    assert build._security_opts is build.security_opts and build._replace_or_append is build.replace_or_append


# ----------------------------------------------------------------------------- joined network namespace


def _validate(body: dict, hostname: str = "") -> None:
    from engine import containerview as view

    body = {"Image": "busybox", "Cmd": ["true"], **({"Hostname": hostname} if hostname else {}), **body}
    config, hc, net = view.split_create_body(body, {})
    view.validate_create(config, hc, net, {})


@pytest.mark.parametrize("hostconfig, config, message", [
    ({}, {"Hostname": "mine"}, "conflicting options: hostname and the network mode"),
    ({"Dns": ["1.1.1.1"]}, {}, "conflicting options: dns and the network mode"),
    ({"ExtraHosts": ["h:10.0.0.1"]}, {}, "conflicting options: custom host-to-IP mapping and the network mode"),
    ({"Links": ["db:db"]}, {}, "conflicting options: container type network can't be used with links"),
    ({}, {"MacAddress": "02:42:ac:11:00:02"}, "conflicting options: mac-address and the network mode"),
    ({"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}, {},
     "conflicting options: port publishing and the container type network mode"),
    ({"PublishAllPorts": True}, {}, "conflicting options: port publishing and the container type network mode"),
])
def test_joining_another_containers_network_refuses_its_own_settings(hostconfig, config, message):
    from engine.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="^" + message):
        _validate({"HostConfig": {"NetworkMode": "container:other", **hostconfig}, **config})
    _validate({"HostConfig": {"NetworkMode": "bridge", **hostconfig}, **config})  # fine with a network of its own


def test_network_mode_container_needs_a_name_and_host_mode_refuses_a_mac():
    from engine.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match=r"^Invalid network mode: invalid container format container:<name\|id>$"):
        _validate({"HostConfig": {"NetworkMode": "container:"}})
    with pytest.raises(InvalidArgument, match="^conflicting options: mac-address and the network mode$"):
        _validate({"HostConfig": {"NetworkMode": "host"}, "MacAddress": "02:42:ac:11:00:02"})
    _validate({"HostConfig": {"NetworkMode": "container:other", "Dns": [], "ExtraHosts": [], "PortBindings": {}}})


@pytest.mark.root
def test_create_with_hostname_and_container_network_mode_stores_nothing(eng, make):
    from engine.errors import InvalidArgument

    host = make(["sleep", "300"], name="pyc-fu-netowner")
    before = _ids(eng)
    with pytest.raises(InvalidArgument, match="^conflicting options: hostname and the network mode$"):
        eng.containers.create({"Image": "busybox", "Cmd": ["true"], "Hostname": "mine",
                               "HostConfig": {"NetworkMode": f"container:{host}"}}, name="pyc-fu-joiner")
    assert _ids(eng) == before
    make(["true"], name="pyc-fu-joiner", HostConfig={"NetworkMode": "container:pyc-fu-netowner"})
