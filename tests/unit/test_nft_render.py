"""The nftables script is a pure function of networks and published ports."""
from engine.network import nft

NET = nft.NetRule("pc-0123456789", "172.18.0.0/16")
INTERNAL = nft.NetRule("pc-abcdefabcd", "172.19.0.0/16", internal=True)


def test_empty_state_deletes_the_table():
    s = nft.render([], [], "pycompose_x")
    assert s == "table ip pycompose_x\ndelete table ip pycompose_x\n"


def test_port_rules_dnat_with_host_ip_binding():
    s = nft.render([NET], [nft.PortRule("tcp", "", 8080, "172.18.0.2", 80, "ab" * 32),
                           nft.PortRule("udp", "127.0.0.1", 5353, "172.18.0.2", 53, "cd" * 32)], "pycompose_x")
    assert '\t\ttcp dport 8080 dnat to 172.18.0.2:80 comment "abababababab"' in s
    assert 'ip daddr 127.0.0.1 udp dport 5353 dnat to 172.18.0.2:53' in s
    assert "fib daddr type local jump published" in s  # host addresses and 127.0.0.1 (output hook)
    assert "type nat hook output" in s and "type nat hook prerouting" in s


def test_masquerade_only_for_non_internal_networks_and_loopback_sources():
    s = nft.render([NET, INTERNAL], [], "t")
    assert 'ip saddr 172.18.0.0/16 oifname != "pc-0123456789" masquerade' in s
    assert 'ip saddr 172.19.0.0/16 oifname != "pc-abcdefabcd" masquerade' not in s
    assert 'oifname "pc-0123456789" ip saddr 127.0.0.0/8 masquerade' in s
    assert 'oifname "pc-0123456789" ip saddr 172.18.0.0/16 ct status dnat masquerade' in s  # hairpin


def test_isolation_and_internal_rules_come_after_same_bridge_accept():
    s = nft.render([NET, INTERNAL], [], "t")
    lines = [l.strip() for l in s.splitlines()]
    same = lines.index('iifname "pc-abcdefabcd" oifname "pc-abcdefabcd" accept')
    assert lines.index('iifname "pc-abcdefabcd" drop') > same
    assert lines.index('oifname "pc-abcdefabcd" drop') > same
    assert lines.index('iifname "pc-0123456789" oifname "pc-*" drop') > lines.index("ct status dnat accept")


def test_table_name_per_root_starts_with_pycompose():
    a, b = nft.table_name("/tmp/a"), nft.table_name("/tmp/b")
    assert a != b and a.startswith("pycompose_") and a == nft.table_name("/tmp/a")


def test_icc_off_drops_same_bridge_traffic_and_masquerade_off_has_no_snat():
    n = nft.NetRule("pc-1111111111", "10.9.0.0/24", icc=False, masquerade=False)
    s = nft.render([n], [], "t")
    lines = [l.strip() for l in s.splitlines()]
    assert lines.index('iifname "pc-1111111111" oifname "pc-1111111111" drop') < lines.index(
        "ct state established,related accept")
    assert 'iifname "pc-1111111111" oifname "pc-1111111111" accept' not in lines
    assert "ip saddr 10.9.0.0/24 oifname != \"pc-1111111111\" masquerade" not in lines


def test_ipv6_networks_get_an_ip6_table_with_isolation_and_masquerade():
    n6 = nft.NetRule("pc-2222222222", "fd00:1::/64")
    s = nft.render([nft.NetRule("pc-2222222222", "10.8.0.0/24")], [], "t", [n6])
    assert "table ip6 t {" in s and 'ip6 saddr fd00:1::/64 oifname != "pc-2222222222" masquerade' in s
    assert s.count('iifname "pc-2222222222" oifname "pc-*" drop') == 2  # ip and ip6 forward chains
    assert nft.render([], [], "t", drop6=True) == "table ip t\ndelete table ip t\ntable ip6 t\ndelete table ip6 t\n"
