"""Pure parts of engine/network: port requests, hosts/resolv.conf, filters, names (no root needed)."""
import pytest

from engine.errors import Conflict, InvalidArgument
from engine.network import filters, hostfiles, names, ports


def test_port_bindings_expand_ranges_and_publish_all():
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                           "53/udp": [{"HostPort": ""}],
                           "9000-9001/tcp": [{"HostPort": "19000-19001"}]},
          "PublishAllPorts": True}
    reqs = ports.requests_from(hc, {"80/tcp": {}, "443/tcp": {}})
    assert ports.Request("tcp", 80, "127.0.0.1", 8080, 8080) in reqs
    assert ports.Request("udp", 53, "", 0, 0) in reqs
    assert ports.Request("tcp", 9001, "", 19001, 19001) in reqs
    assert ports.Request("tcp", 443, "", 0, 0) in reqs
    assert not any(r.container_port == 80 and r.host_lo == 0 for r in reqs)


@pytest.mark.parametrize("hc,msg", [
    ({"PortBindings": {"80/xyz": [{}]}}, "invalid proto"),
    ({"PortBindings": {"80/tcp": [{"HostPort": "70000"}]}}, "out of range"),
    ({"PortBindings": {"80-82/tcp": [{"HostPort": "90-91"}]}}, "different sizes"),
    ({"PortBindings": {"80/tcp": [{"HostIp": "1.2.3", "HostPort": "90"}]}}, "invalid host IP"),
])
def test_bad_port_bindings_are_refused(hc, msg):
    with pytest.raises(InvalidArgument, match=msg):
        ports.requests_from(hc)


def test_resolve_conflicts_with_taken_and_busy_ports_name_the_port():
    taken = [ports.Mapping("tcp", 80, "", 8080)]
    with pytest.raises(Conflict, match=r"^Bind for 0.0.0.0:8080 failed: port is already allocated$"):
        ports.resolve([ports.Request("tcp", 80, "", 8080, 8080)], taken, is_free=lambda *a: True)
    with pytest.raises(Conflict, match="Bind for 127.0.0.1:9000 failed"):
        ports.resolve([ports.Request("tcp", 80, "127.0.0.1", 9000, 9000)], [], is_free=lambda *a: False)
    # udp and tcp do not clash; a host range takes the first free port
    got = ports.resolve([ports.Request("udp", 80, "", 8080, 8080), ports.Request("tcp", 81, "", 8080, 8082)],
                        taken, is_free=lambda p, ip, port: port != 8081)
    assert [m.host_port for m in got] == [8080, 8082]


def test_resolve_random_port_avoids_published_ones():
    seq = iter([8080, 8080, 40000])
    got = ports.resolve([ports.Request("tcp", 80, "", 0, 0)], [ports.Mapping("tcp", 1, "", 8080)],
                        pick=lambda *a: next(seq))
    assert got == [ports.Mapping("tcp", 80, "", 40000)]


def test_real_bind_check_sees_a_listening_socket():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        assert not ports.host_port_free("tcp", "127.0.0.1", port)
        assert not ports.host_port_free("tcp", "", port)
    finally:
        s.close()
    assert ports.host_port_free("tcp", "127.0.0.1", port)


def test_bind_check_tells_tcp_from_udp():
    """A port taken for udp is taken for udp only: the check binds the protocol it is asked about."""
    import socket
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    try:
        assert not ports.host_port_free("udp", "127.0.0.1", port)
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))  # what a real tcp bind says right now (another program may hold it)
            tcp_free = True
        except OSError:
            tcp_free = False
        finally:
            t.close()
        assert ports.host_port_free("tcp", "127.0.0.1", port) is tcp_free
    finally:
        u.close()
    assert ports.host_port_free("udp", "127.0.0.1", port)


def test_ports_to_docker_lists_exposed_without_binding_as_none():
    out = ports.to_docker([ports.Mapping("tcp", 80, "", 8080)], {"80/tcp": {}, "81/udp": {}})
    assert out == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "81/udp": None}


HOST = "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"


def test_resolv_conf_user_network_points_at_embedded_dns():
    out = hostfiles.render_resolv_conf(HOST, True, None, ["a.example"], ["timeout:1"])
    assert "nameserver 127.0.0.11\n" in out and "10.0.0.2" not in out.split("\n", 1)[1]
    assert "search a.example\n" in out
    assert "options ndots:0 timeout:1\n" in out


def test_resolv_conf_default_bridge_drops_loopback_and_takes_custom_dns():
    out = hostfiles.render_resolv_conf(HOST, False)
    assert "127.0.0.53" not in out and "nameserver 10.0.0.2\n" in out
    assert "search corp.example\n" in out and "options edns0\n" in out
    out = hostfiles.render_resolv_conf(HOST, False, ["9.9.9.9"])
    assert "nameserver 9.9.9.9\n" in out and "10.0.0.2" not in out
    assert "nameserver 8.8.8.8" in hostfiles.render_resolv_conf("nameserver 127.0.0.1\n", False)


def test_hosts_file_has_own_address_links_and_extra_hosts():
    extra = [hostfiles.parse_extra_host("db.local:10.0.0.9", "172.18.0.1"),
             hostfiles.parse_extra_host("gw=host-gateway", "172.18.0.1")]
    out = hostfiles.render_hosts([("172.18.0.2", ["web"])], extra, [("172.18.0.3", ["database", "db"])])
    assert out.startswith("127.0.0.1\tlocalhost\n")
    assert "10.0.0.9\tdb.local\n" in out and "172.18.0.1\tgw\n" in out
    assert "172.18.0.3\tdatabase db\n" in out and out.endswith("172.18.0.2\tweb\n")
    with pytest.raises(InvalidArgument, match="add-host"):
        hostfiles.parse_extra_host("x:not-an-ip", None)


def test_filters_like_docker():
    view = {"Name": "proj_default", "Id": "abcdef" + "0" * 58, "Driver": "bridge", "Scope": "local",
            "Labels": {"com.docker.compose.project": "proj"}, "Containers": {}, "Created": "2020-01-01T00:00:00Z"}
    assert filters.match_network(view, {"name": ["proj"]})
    assert filters.match_network(view, {"label": ["com.docker.compose.project=proj"]})
    assert not filters.match_network(view, {"label": ["com.docker.compose.project=other"]})
    assert filters.match_network(view, {"id": ["abc"]}) and not filters.match_network(view, {"id": ["bcd"]})
    assert filters.match_network(view, {"dangling": ["true"], "type": ["custom"]})
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        filters.match_network(view, {"colour": ["red"]})
    assert filters.match_prune(view, {"until": ["1h"]})
    assert not filters.match_prune(view, {"label!": ["com.docker.compose.project"]})


def test_kernel_names_fit_and_are_deterministic():
    b, v = names.bridge_name("x" * 64), names.veth_name("x" * 64, "y" * 64)
    assert b.startswith("pc-") and len(b) == 13 and b == names.bridge_name("x" * 64)
    assert v.startswith("pcv") and len(v) == 14 and v != names.veth_name("x" * 64, "z" * 64)
