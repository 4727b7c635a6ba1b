"""Networks through engine.api.Engine with real containers (runtime + supervisor): the issue's
"Done when" list. Skipped only while the supervisor module is not in this checkout."""
from __future__ import annotations

import socket
import tempfile
import uuid

import pytest

from engine.errors import Conflict

pytestmark = pytest.mark.root


@pytest.fixture
def eng(engine_root, busybox, no_net_leaks):
    try:
        import engine.supervisor.client  # noqa: F401
    except ImportError:
        pytest.skip("engine.supervisor is not in this checkout yet")
    from engine.api import Engine
    from engine.network import NetworkManager

    e = Engine(str(engine_root))
    tag = uuid.uuid4().hex[:6]
    made: dict[str, list[str]] = {"containers": [], "networks": []}

    class Helper:
        engine = e
        t = tag

        def net(self, name, **kw):
            full = f"{name}{tag}"
            e.networks.create(full, **kw)
            made["networks"].append(full)
            return full

        def run(self, name, net, cmd=("sleep", "1000"), aliases=(), ports=None, exposed=None, ip=None):
            ep = {"Aliases": list(aliases)}
            if ip:
                ep["IPAMConfig"] = {"IPv4Address": ip}
            body = {"Image": busybox, "Cmd": list(cmd), "ExposedPorts": exposed or {},
                    "HostConfig": {"NetworkMode": net, "PortBindings": ports or {}},
                    "NetworkingConfig": {"EndpointsConfig": {net: ep}}}
            cid = e.containers.create(body, name=f"{name}{tag}")
            made["containers"].append(cid)
            e.containers.start(cid)
            return cid

        def sh(self, cid, script) -> tuple[int, str]:
            with tempfile.TemporaryFile() as out:
                code = e.containers.exec(cid, ["sh", "-c", script], stdout=out, stderr=out)
                out.seek(0)
                return code, out.read().decode(errors="replace")

        def ip(self, cid, net):
            return e.containers.inspect(cid)["NetworkSettings"]["Networks"][net]["IPAddress"]

    yield Helper()
    no_net_leaks.note(NetworkManager(e.root))  # what this root holds, read behind the API
    for cid in made["containers"]:
        try:
            e.containers.remove(cid, force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
    for n in made["networks"]:
        e.networks.remove(n)


def test_two_containers_talk_by_name_with_aliases_and_replicas(eng):
    net = eng.net("front")
    web = eng.run("web", net, ["httpd", "-f", "-p", "80", "-h", "/var/www"], aliases=["websvc"])
    r1 = eng.run("rep1", net, aliases=["shared"])
    r2 = eng.run("rep2", net, aliases=["shared"])
    client = eng.run("client", net)
    code, out = eng.sh(client, f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://web{eng.t}/ && break; sleep 0.2; done")
    assert code == 0 and "busybox</h1>" in out
    code, out = eng.sh(client, "wget -q -O - http://websvc/")
    assert code == 0 and "busybox</h1>" in out
    code, out = eng.sh(client, "nslookup shared 127.0.0.11")
    assert eng.ip(r1, net) in out and eng.ip(r2, net) in out
    assert eng.ip(web, net) not in out


def test_isolation_internal_fixed_address_and_late_names(eng):
    a_net = eng.net("neta", ipam={"Config": [{"Subnet": "10.126.0.0/24"}]})
    b_net = eng.net("netb")
    inner = eng.net("inner", internal=True)
    a = eng.run("a", a_net, ip="10.126.0.42")
    b = eng.run("b", b_net, ["httpd", "-f", "-p", "80", "-h", "/var/www"])
    assert eng.ip(a, a_net) == "10.126.0.42"
    code, _ = eng.sh(a, f"wget -q -T 2 -O - http://{eng.ip(b, b_net)}/")
    assert code != 0  # another network: no route through the host
    code, out = eng.sh(a, f"nslookup b{eng.t} 127.0.0.11")
    assert "NXDOMAIN" in out
    i = eng.run("i", inner)
    code, out = eng.sh(i, "ip route")
    assert "default" not in out
    late = eng.run("late", a_net, aliases=["latecomer"])
    code, out = eng.sh(a, "nslookup latecomer 127.0.0.11")
    assert eng.ip(late, a_net) in out


def test_published_ports_random_port_and_conflict(eng):
    net = eng.net("pub")
    cid = eng.run("srv", net, ["httpd", "-f", "-p", "80", "-h", "/var/www"],
                  ports={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}], "5353/udp": [{"HostPort": ""}]},
                  exposed={"80/tcp": {}, "5353/udp": {}})
    ports = eng.engine.containers.port(cid)
    tcp_port = int(ports["80/tcp"][0]["HostPort"])
    assert tcp_port > 0
    for _ in range(50):
        try:
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=2) as c:
                c.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert b"busybox</h1>" in c.recv(4096) + c.recv(4096)
                break
        except ConnectionRefusedError:
            import time
            time.sleep(0.1)
    udp_port = int(ports["5353/udp"][0]["HostPort"])
    # busybox has no UDP server: the receiving socket is made inside the container's namespace
    from engine.network.netns import sockets_in_netns

    pid = eng.engine.containers.inspect(cid)["State"]["Pid"]
    (inside,) = sockets_in_netns(pid, [(socket.AF_INET, socket.SOCK_DGRAM, 0)])
    inside.bind(("0.0.0.0", 5353))
    inside.settimeout(5)
    with inside, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        u.sendto(b"ping", ("127.0.0.1", udp_port))
        data, peer = inside.recvfrom(100)
        inside.sendto(b"pong", peer)
        assert data == b"ping" and u.recv(100) == b"pong"
    with pytest.raises(Conflict, match=f"Bind for 127.0.0.1:{tcp_port} failed: port is already allocated"):
        eng.run("clash", net, ports={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(tcp_port)}]})


def test_two_projects_same_service_names_side_by_side(eng):
    ips = {}
    for p in ("p1", "p2"):
        net = eng.net(f"{p}_default")
        web = eng.run(f"{p}-web-1", net, aliases=["web"])
        cli = eng.run(f"{p}-cli-1", net, aliases=["cli"])
        ips[p] = (net, web, cli)
    for p, (net, web, cli) in ips.items():
        code, out = eng.sh(cli, "nslookup web 127.0.0.11")
        other = ips["p2" if p == "p1" else "p1"]
        assert eng.ip(web, net) in out and eng.ip(other[1], other[0]) not in out


def test_sigkilled_container_releases_its_endpoint(eng):
    import subprocess

    net = eng.net("kill")
    cid = eng.run("victim", net, ports={"80/tcp": [{"HostPort": ""}]})
    assert cid in eng.engine.networks.inspect(net)["Containers"]
    eng.engine.containers.kill(cid, "SIGKILL")
    eng.engine.containers.wait(cid, timeout=20)
    assert eng.engine.networks.inspect(net)["Containers"] == {}
    assert eng.engine.containers.port(cid) == {}
    veths = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    from engine.network import names
    assert names.veth_name(eng.engine.networks.inspect(net)["Id"], cid) not in veths


def test_cli_connect_and_disconnect_a_running_container(eng, capsys):
    from compose.cli.main import main

    front, back = eng.net("clifront"), eng.net("cliback")
    cid = eng.run("multi", front)
    assert main(["network", "connect", "--alias", "extra", back, f"multi{eng.t}"]) == 0
    code, out = eng.sh(cid, "ip -o addr show eth1")
    assert code == 0 and eng.ip(cid, back) in out
    assert "extra" in eng.engine.containers.inspect(cid)["NetworkSettings"]["Networks"][back]["Aliases"]
    capsys.readouterr()
    assert main(["network", "rm", back]) == 1
    assert "has active endpoints" in capsys.readouterr().err
    assert main(["network", "disconnect", back, cid[:12]]) == 0
    code, out = eng.sh(cid, "ip -o link")
    assert "eth1" not in out
