"""Networks on the real kernel with stand-in containers (namespaced busybox processes):
talk by name, aliases and replicas, isolation, internal networks, published ports, DNS,
connect/disconnect, crash repair. Only loopback and addresses of networks made here are used."""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading

import pytest
from dnslib import DNSRecord, QTYPE, RCODE

from engine.errors import Conflict
from sandbox import record, wait_listening

pytestmark = pytest.mark.root


def dns_query(box, name: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    """Ask 127.0.0.11 from inside the box's network namespace."""
    q = DNSRecord.question(name, qtype).pack()
    if tcp:
        s = box.socket()
        s.settimeout(5)
        s.connect(("127.0.0.11", 53))
        s.sendall(struct.pack("!H", len(q)) + q)
        n = struct.unpack("!H", s.recv(2))[0]
        data = b""
        while len(data) < n:
            data += s.recv(n - len(data))
        s.close()
        return DNSRecord.parse(data)
    s = box.socket(type_=socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(q, ("127.0.0.11", 53))
    data = s.recv(4096)
    s.close()
    return DNSRecord.parse(data)


def a_records(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A)


def ip_of(nm, rec, net="front") -> str:
    return nm.network_settings(rec)["Networks"][net]["IPAddress"]


def can_connect(box, ip: str, port: int) -> bool:
    s = box.socket()
    s.settimeout(1.5)
    try:
        s.connect((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def serve_once_tcp(box, port: int, payload: bytes, count: int = 1) -> threading.Thread:
    """A TCP server in the box's namespace that answers ``count`` connections with ``payload``."""
    srv = box.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(8)

    def run():
        with srv:
            srv.settimeout(10)
            for _ in range(count):
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                with c:
                    c.sendall(payload)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_two_containers_talk_by_name_over_tcp(nm, boxes, tmp_path):
    nm.create("front")
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from web\n")
    web = boxes(record("web", aliases=["websvc"]))
    client = boxes(record("client"))
    web.spawn("busybox", "httpd", "-f", "-p", "80", "-h", str(www))
    wait_listening(web, 80)
    out = client.run("busybox", "wget", "-q", "-O", "-", "http://web/")
    assert out.stdout == "hello from web\n", out.stderr
    out = client.run("busybox", "wget", "-q", "-O", "-", "http://websvc:80/index.html")
    assert out.stdout == "hello from web\n", out.stderr
    assert "nameserver 127.0.0.11" in client.run("busybox", "cat", "/etc/resolv.conf").stdout


def test_aliases_and_replicas_one_a_record_each(nm, boxes):
    nm.create("front")
    r1, r2 = record("proj-web-1", aliases=["web"]), record("proj-web-2", aliases=["web"])
    b1, b2 = boxes(r1), boxes(r2)
    assert a_records(dns_query(b1, "web")) == sorted([ip_of(nm, r1), ip_of(nm, r2)])
    assert a_records(dns_query(b1, "proj-web-2")) == [ip_of(nm, r2)]
    assert a_records(dns_query(b2, "proj-web-1.front")) == [ip_of(nm, r1)]  # name.network
    assert a_records(dns_query(b2, "web", tcp=True)) == sorted([ip_of(nm, r1), ip_of(nm, r2)])
    # shuffled per query like Docker's resolver, so "first answer" clients spread over replicas
    firsts = {str(dns_query(b1, "web").rr[0].rdata) for _ in range(40)}
    assert firsts == {ip_of(nm, r1), ip_of(nm, r2)}
    assert dns_query(b1, "nosuchname").header.rcode == RCODE.NXDOMAIN
    assert dns_query(b1, "web", "AAAA").header.rcode == RCODE.NOERROR
    ptr = dns_query(b1, ".".join(reversed(ip_of(nm, r2).split("."))) + ".in-addr.arpa", "PTR")
    assert str(ptr.rr[0].rdata) == "proj-web-2.front."


def test_name_added_after_start_resolves_at_once_and_disappears_on_stop(nm, boxes):
    nm.create("front")
    first = boxes(record("first"))
    assert dns_query(first, "late").header.rcode == RCODE.NXDOMAIN
    late_rec = record("late", aliases=["latecomer"])
    boxes(late_rec)
    assert a_records(dns_query(first, "latecomer")) == [ip_of(nm, late_rec)]
    nm.rename(late_rec, "renamed")
    assert a_records(dns_query(first, "renamed")) == [ip_of(nm, late_rec)]
    nm.detach(late_rec)
    assert dns_query(first, "latecomer").header.rcode == RCODE.NXDOMAIN


def test_networks_are_isolated_and_dns_is_scoped(nm, boxes):
    nm.create("neta")
    nm.create("netb")
    a_rec, b_rec = record("a", network="neta"), record("b", network="netb")
    a2_rec = record("a2", network="neta")
    a, b, a2 = boxes(a_rec), boxes(b_rec), boxes(a2_rec)
    serve_once_tcp(b, 7000, b"b")
    serve_once_tcp(a2, 7000, b"a2")
    b_ip = ip_of(nm, b_rec, "netb")
    assert can_connect(a, ip_of(nm, a2_rec, "neta"), 7000)  # positive control: same network
    assert not can_connect(a, b_ip, 7000)
    assert dns_query(a, "b").header.rcode == RCODE.NXDOMAIN
    assert a_records(dns_query(a, "a2")) == [ip_of(nm, a2_rec, "neta")]


def test_internal_network_has_no_route_out_and_no_forwarding(nm, boxes):
    nm.create("inner", internal=True)
    box = boxes(record("lonely", network="inner"))
    routes = box.run("busybox", "ip", "route").stdout
    assert "default" not in routes and "dev eth0" in routes
    out = box.run("busybox", "ip", "route", "get", "198.51.100.7")  # lookup only, nothing is sent
    assert out.returncode != 0 and "unreachable" in out.stderr.lower()
    # DNS for outside names is refused rather than forwarded
    assert dns_query(box, "example.org").header.rcode == RCODE.SERVFAIL


def test_published_tcp_and_udp_on_loopback_and_random_port(nm, boxes):
    nm.create("front")
    rec = record("srv", ports={"7001/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                               "7002/udp": [{"HostPort": ""}], "7003/tcp": [{}]},
                 exposed={"7001/tcp": {}, "7002/udp": {}, "7003/tcp": {}})
    box = boxes(rec)
    published = nm.network_settings(rec)["Ports"]
    tcp_port = int(published["7001/tcp"][0]["HostPort"])
    udp_port = int(published["7002/udp"][0]["HostPort"])
    assert published["7001/tcp"][0]["HostIp"] == "127.0.0.1"
    assert tcp_port > 0 and udp_port > 0 and int(published["7003/tcp"][0]["HostPort"]) > 0
    serve_once_tcp(box, 7001, b"tcp ok")
    with socket.create_connection(("127.0.0.1", tcp_port), timeout=5) as c:
        assert c.recv(100) == b"tcp ok"
    us = box.socket(type_=socket.SOCK_DGRAM)
    us.bind(("0.0.0.0", 7002))
    us.settimeout(5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hc:
        hc.settimeout(5)
        hc.sendto(b"ping", ("127.0.0.1", udp_port))
        data, peer = us.recvfrom(100)
        assert data == b"ping"
        us.sendto(b"pong", peer)
        assert hc.recv(100) == b"pong"
    us.close()


def test_published_port_reachable_from_another_container_via_gateway_hairpin(nm, boxes):
    nm.create("front")
    nm.create("other")
    srv_rec = record("srv", ports={"7010/tcp": [{"HostPort": ""}]})
    srv = boxes(srv_rec)
    port = int(nm.network_settings(srv_rec)["Ports"]["7010/tcp"][0]["HostPort"])
    same = boxes(record("same"))
    other_rec = record("far", network="other")
    far = boxes(other_rec)
    gw_front = nm.network_settings(srv_rec)["Networks"]["front"]["Gateway"]
    gw_other = nm.network_settings(other_rec)["Networks"]["other"]["Gateway"]
    serve_once_tcp(srv, 7010, b"hairpin", count=2)
    for client, gw in ((same, gw_front), (far, gw_other)):
        s = client.socket()
        s.settimeout(5)
        s.connect((gw, port))
        assert s.recv(100) == b"hairpin"
        s.close()


def test_port_conflict_refused_before_anything_is_kept(nm, boxes):
    nm.create("front")
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        rec = record("clash", ports={"80/tcp": [{"HostPort": str(port)}]})
        with pytest.raises(Conflict, match=rf"^Bind for 0.0.0.0:{port} failed: port is already allocated$"):
            nm.prepare(rec)
        assert nm.store.endpoint(rec["Id"]) is None  # no lease, no files kept
        assert not (nm.root.path / "containers" / rec["Id"] / "hosts").exists()
    finally:
        holder.close()
    # a port published by one of our containers is refused for the next one too
    first = record("first", ports={"80/tcp": [{"HostPort": str(port)}]})
    boxes(first)
    with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{port} failed"):
        nm.prepare(record("second", ports={"80/tcp": [{"HostPort": str(port)}]}))


def test_fixed_address_mac_and_mtu_honoured(nm, boxes):
    nm.create("front", ipam={"Config": [{"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.254"}]},
              options={"com.docker.network.driver.mtu": "1400"})
    rec = record("fixed", ip="10.123.0.77")
    box = boxes(rec)
    addr = box.run("busybox", "ip", "-o", "addr", "show", "eth0").stdout
    assert "10.123.0.77/24" in addr
    link = box.run("busybox", "ip", "-o", "link", "show", "eth0").stdout
    assert "mtu 1400" in link and "02:42:0a:7b:00:4d" in link
    assert "default via 10.123.0.254" in box.run("busybox", "ip", "route").stdout
    with pytest.raises(Conflict, match="Address already in use: 10.123.0.77"):
        nm.prepare(record("dup", ip="10.123.0.77"))
    net = nm.inspect("front")
    assert net["IPAM"]["Config"] == [{"Subnet": "10.123.0.0/24", "Gateway": "10.123.0.254"}]
    assert net["Containers"][rec["Id"]]["IPv4Address"] == "10.123.0.77/24"


def test_two_projects_with_the_same_names_side_by_side(nm, boxes):
    nm.create("p1_default", labels={"com.docker.compose.project": "p1"})
    nm.create("p2_default", labels={"com.docker.compose.project": "p2"})
    w1, w2 = record("p1-web-1", "p1_default", ["web"]), record("p2-web-1", "p2_default", ["web"])
    c1, c2 = record("p1-cli-1", "p1_default", ["cli"]), record("p2-cli-1", "p2_default", ["cli"])
    for r in (w1, w2):
        boxes(r)
    b1, b2 = boxes(c1), boxes(c2)
    assert a_records(dns_query(b1, "web")) == [ip_of(nm, w1, "p1_default")]
    assert a_records(dns_query(b2, "web")) == [ip_of(nm, w2, "p2_default")]
    assert [n["Name"] for n in nm.list({"label": ["com.docker.compose.project=p2"]})] == ["p2_default"]


def test_connect_running_container_gets_eth1_at_once_and_disconnect_removes_it(nm, boxes):
    nm.create("front")
    nm.create("back")
    rec = record("multi")
    box = boxes(rec)
    peer_rec = record("db", network="back", aliases=["database"])
    boxes(peer_rec)
    assert dns_query(box, "database").header.rcode == RCODE.NXDOMAIN
    nm.connect("back", rec, aliases=["multi-back"])
    assert "eth1" in box.run("busybox", "ip", "-o", "link").stdout
    hosts = box.run("busybox", "cat", "/etc/hosts").stdout  # the bind-mounted file follows
    assert f"{ip_of(nm, rec, 'back')}\tmulti" in hosts and f"{ip_of(nm, rec)}\tmulti" in hosts
    assert a_records(dns_query(box, "database")) == [ip_of(nm, peer_rec, "back")]
    assert set(nm.network_settings(rec)["Networks"]) == {"front", "back"}
    with pytest.raises(Conflict, match="already exists in network back"):
        nm.connect("back", rec)
    with pytest.raises(Conflict, match="has active endpoints"):
        nm.remove("back")
    back_ip = ip_of(nm, rec, "back")
    nm.disconnect("front", rec)  # the default route moves to the remaining network
    assert f"default via {nm.network_settings(rec)['Networks']['back']['Gateway']}" in box.run(
        "busybox", "ip", "route").stdout
    nm.connect("front", rec)
    nm.disconnect("back", rec)
    assert "eth1" not in box.run("busybox", "ip", "-o", "link").stdout
    assert back_ip not in box.run("busybox", "cat", "/etc/hosts").stdout
    assert dns_query(box, "database").header.rcode == RCODE.NXDOMAIN


def test_dns_forwards_other_names_to_upstream(nm, boxes):
    from dnslib import A, RR

    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.bind(("127.0.0.77", 0))
    up.settimeout(10)

    def fake_upstream():
        try:
            data, peer = up.recvfrom(4096)
        except OSError:
            return
        q = DNSRecord.parse(data)
        r = q.reply()
        r.add_answer(RR(q.q.qname, rdata=A("10.99.0.1")))
        up.sendto(r.pack(), peer)

    t = threading.Thread(target=fake_upstream, daemon=True)
    t.start()
    nm.dns.upstreams = [up.getsockname()]
    nm.create("front")
    box = boxes(record("asker"))
    try:
        assert a_records(dns_query(box, "www.example.test")) == ["10.99.0.1"]
    finally:
        up.close()
        t.join()


def test_sigkill_then_reconcile_releases_everything(nm, boxes):
    nm.create("front")
    rec = record("victim", ports={"80/tcp": [{"HostPort": ""}]})
    box = boxes(rec)
    veth = nm.store.endpoint(rec["Id"])["Networks"][0]["HostVeth"]
    box.kill()  # SIGKILL: nobody calls detach
    released = nm.reconcile(live_container_ids=[])
    assert released == [rec["Id"]]
    ep = nm.store.endpoint(rec["Id"])
    assert not ep["Active"] and not ep["Ports"] and not ep["Networks"][0]["IPAddress"]
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert veth not in out
    assert nm.inspect("front")["Containers"] == {}


def test_default_bridge_uses_host_resolv_and_links_in_hosts(nm, boxes):
    db_rec = record("db", network=None, mode="default")
    boxes(db_rec)
    app_rec = record("app", network=None, mode="default", links=["db:database"], extra_hosts=["gw:host-gateway"])
    app = boxes(app_rec)
    hosts = app.run("busybox", "cat", "/etc/hosts").stdout
    db_ip = nm.network_settings(db_rec)["Networks"]["bridge"]["IPAddress"]
    assert f"{db_ip}\tdatabase db" in hosts
    assert "nameserver 127.0.0.11" not in app.run("busybox", "cat", "/etc/resolv.conf").stdout
    assert nm.network_settings(app_rec)["IPAddress"] == nm.network_settings(app_rec)["Networks"]["bridge"]["IPAddress"]
    assert [n["Name"] for n in nm.list({"type": ["builtin"]})] == ["bridge", "host", "none"]


def test_killed_container_frees_its_port_and_address_for_the_next_one_without_reconcile(nm, boxes):
    nm.create("front", ipam={"Config": [{"Subnet": "10.124.0.0/24"}]})
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    port = holder.getsockname()[1]
    holder.close()
    first = record("first", ip="10.124.0.9", ports={"80/tcp": [{"HostPort": str(port)}]})
    box = boxes(first)
    box.kill()  # dies with SIGKILL; its supervisor (say) died too, so nobody detaches it
    second = record("second", ip="10.124.0.9", ports={"80/tcp": [{"HostPort": str(port)}]})
    boxes(second)
    assert nm.network_settings(second)["Ports"]["80/tcp"][0]["HostPort"] == str(port)
    assert list(nm.inspect("front")["Containers"]) == [second["Id"]]


def test_network_removed_and_made_again_is_found_by_name_at_next_start(nm, boxes):
    nm.create("front")
    rec = record("again")
    boxes(rec)
    nm.detach(rec)
    nm.remove("front")
    nm.create("front", ipam={"Config": [{"Subnet": "10.125.0.0/24"}]})
    box = boxes(rec)
    assert "10.125.0." in box.run("busybox", "ip", "-o", "addr", "show", "eth0").stdout


def test_connect_while_stopped_takes_effect_at_next_start_in_order(nm, boxes):
    nm.create("front")
    nm.create("back")
    rec = record("later")
    nm.connect("back", rec, aliases=["later-back"])  # created, never started: state only
    assert not nm.inspect("back")["Containers"]
    box = boxes(rec)
    assert nm.network_settings(rec)["Networks"]["back"]["IPAddress"]
    ifaces = " ".join(box.run("busybox", "ip", "-o", "addr").stdout.split())
    front_ip = nm.network_settings(rec)["Networks"]["front"]["IPAddress"]
    back_ip = nm.network_settings(rec)["Networks"]["back"]["IPAddress"]
    assert f"eth0 inet {front_ip}/" in ifaces and f"eth1 inet {back_ip}/" in ifaces
    assert "later-back" in nm.network_settings(rec)["Networks"]["back"]["DNSNames"]


def test_links_on_user_network_resolve_only_for_the_linking_container(nm, boxes):
    nm.create("front")
    db_rec = record("db")
    boxes(db_rec)
    app = boxes(record("app", links=["db:database"]))
    other = boxes(record("other"))
    assert a_records(dns_query(app, "database")) == [ip_of(nm, db_rec)]
    assert dns_query(other, "database").header.rcode == RCODE.NXDOMAIN


def test_container_network_mode_shares_files_and_none_has_only_loopback(nm, boxes):
    nm.create("front")
    owner = record("owner", extra_hosts=["special:10.1.2.3"])
    boxes(owner)
    guest = record("guest", network=None, mode=f"container:{owner['Name'][1:]}")
    prep = nm.prepare(guest)
    assert prep.mode.startswith("container:") and "special" in prep.hosts
    assert prep.resolv_conf == (nm.root.path / "containers" / owner["Id"] / "resolv.conf").read_text()
    lonely = record("lonely", network=None, mode="none")
    box = boxes(lonely)
    links_out = box.run("busybox", "ip", "-o", "link").stdout
    assert "lo:" in links_out and "eth0" not in links_out and "UP" in links_out
    assert nm.network_settings(lonely)["Networks"] == {"none": nm.network_settings(lonely)["Networks"]["none"]}


def test_port_bound_to_127_0_0_1_is_not_published_on_other_addresses(nm, boxes):
    nm.create("front")
    rec = record("local", ports={"7020/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]})
    box = boxes(rec)
    port = int(nm.network_settings(rec)["Ports"]["7020/tcp"][0]["HostPort"])
    gw = nm.network_settings(rec)["Networks"]["front"]["Gateway"]
    serve_once_tcp(box, 7020, b"x", count=2)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        assert c.recv(10) == b"x"
    s = socket.socket()
    s.settimeout(2)
    with pytest.raises(OSError):
        s.connect((gw, port))  # nothing listens on the host there: refused
    s.close()


def test_fixed_address_needs_a_user_subnet_and_aliases_a_user_network(nm):
    from engine.errors import InvalidArgument

    nm.create("auto")
    with pytest.raises(InvalidArgument, match="only when connecting to networks with user configured subnets"):
        nm.prepare(record("fixed", network="auto", ip="172.30.0.5"))
    with pytest.raises(InvalidArgument, match="network-scoped alias is supported only"):
        nm.prepare(record("aliased", network=None, mode="default",
                          endpoints={"bridge": {"Aliases": ["x"]}}))
    assert nm.store.endpoints() == []


def test_check_ports_refuses_a_taken_port_without_keeping_anything(nm, boxes):
    nm.create("front")
    first = record("first", ports={"80/tcp": [{"HostPort": ""}]})
    boxes(first)
    port = nm.network_settings(first)["Ports"]["80/tcp"][0]["HostPort"]
    with pytest.raises(Conflict, match=f"^Bind for 0.0.0.0:{port} failed: port is already allocated$"):
        nm.check_ports({"PortBindings": {"8080/tcp": [{"HostPort": port}]}})
    assert nm.check_ports({"PortBindings": {"8080/udp": [{"HostPort": port}]}})[0].host_port == int(port)
    assert len(nm.store.endpoints()) == 1


def test_driver_options_icc_host_binding_and_interface_prefix(nm, boxes):
    from engine.errors import InvalidArgument

    nm.create("quiet", options={"com.docker.network.bridge.enable_icc": "false",
                                "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1",
                                "com.docker.network.container_iface_prefix": "net"})
    a_rec = record("a", network="quiet", ports={"80/tcp": [{"HostPort": ""}]})
    a, b = boxes(a_rec), boxes(record("b", network="quiet"))
    assert "net0" in a.run("busybox", "ip", "-o", "link").stdout
    try:
        br_netfilter = open("/proc/sys/net/bridge/bridge-nf-call-iptables").read().strip() == "1"
    except OSError:
        br_netfilter = False
    if br_netfilter:  # bridged frames reach nftables only through br_netfilter (Docker needs it too)
        serve_once_tcp(a, 7030, b"icc")
        assert not can_connect(b, ip_of(nm, a_rec, "quiet"), 7030)  # no inter-container traffic
    assert nm.network_settings(a_rec)["Ports"]["80/tcp"][0]["HostIp"] == "127.0.0.1"
    with pytest.raises(InvalidArgument, match="bridge.name cannot be set"):
        nm.create("named", options={"com.docker.network.bridge.name": "eth0"})


def test_ipv6_network_dual_stack_addresses_routes_dns_and_ping(nm, boxes):
    net = nm.create("six", enable_ipv6=True, ipam={"Config": [{"Subnet": "fd00:a7::/64"}]})
    assert {"Subnet": "fd00:a7::/64", "Gateway": "fd00:a7::1"} in net["IPAM"]["Config"] and net["EnableIPv6"]
    a_rec, b_rec = record("a6", network="six"), record("b6", network="six", aliases=["bee"])
    a, b = boxes(a_rec), boxes(b_rec)
    b6 = nm.network_settings(b_rec)["Networks"]["six"]["GlobalIPv6Address"]
    assert b6.startswith("fd00:a7::") and nm.network_settings(b_rec)["Networks"]["six"]["IPv6Gateway"] == "fd00:a7::1"
    assert "default via fd00:a7::1" in a.run("busybox", "ip", "-6", "route").stdout
    out = a.run("busybox", "ping", "-6", "-c", "1", "-W", "3", b6)
    assert out.returncode == 0, out.stdout + out.stderr
    reply = dns_query(a, "bee", "AAAA")
    assert [str(r.rdata) for r in reply.rr if r.rtype == QTYPE.AAAA] == [b6]
    assert a_records(dns_query(a, "bee")) == [ip_of(nm, b_rec, "six")]
    assert f"{b6}\tb6" in b.run("busybox", "cat", "/etc/hosts").stdout
    inspect = nm.inspect("six")["Containers"][b_rec["Id"]]
    assert inspect["IPv6Address"] == f"{b6}/64"
    auto = nm.create("six-auto", enable_ipv6=True)
    sub6 = [c["Subnet"] for c in auto["IPAM"]["Config"] if ":" in c["Subnet"]][0]
    assert sub6.startswith("fd") and sub6.endswith("/64")
    from engine.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match="IPv6 is not enabled"):
        nm.create("nosix", ipam={"Config": [{"Subnet": "fd00:a8::/64"}]})
