"""IPAM rules: Docker's default pools, overlap skipping, subnet/gateway/ip_range/fixed address checks."""
import ipaddress

import pytest

from engine.errors import Conflict, InvalidArgument
from engine.network import ipam

N = ipaddress.ip_network


def test_default_pools_are_dockers():
    assert ipam.DEFAULT_POOLS[0] == N("172.17.0.0/16")
    assert ipam.DEFAULT_POOLS[14] == N("172.31.0.0/16")
    assert ipam.DEFAULT_POOLS[15] == N("192.168.0.0/20")
    assert ipam.DEFAULT_POOLS[-1] == N("192.168.240.0/20")
    assert len(ipam.DEFAULT_POOLS) == 15 + 16


def test_pick_skips_routes_and_other_networks():
    used = [N("172.17.0.0/16"), N("172.18.5.0/24"), N("0.0.0.0/0")]  # a default route overlaps nothing
    assert ipam.pick_subnet(used) == N("172.19.0.0/16")


def test_pick_falls_through_to_192_168_and_then_fails():
    used = [N("172.16.0.0/12"), N("192.168.0.0/20")]
    assert ipam.pick_subnet(used) == N("192.168.16.0/20")
    with pytest.raises(InvalidArgument, match="fully subnetted"):
        ipam.pick_subnet([N("172.16.0.0/12"), N("192.168.0.0/16")])


def test_make_config_defaults_gateway_to_first_address():
    c = ipam.make_config("10.5.0.0/24", None, None, [])
    assert c.to_docker() == {"Subnet": "10.5.0.0/24", "Gateway": "10.5.0.1"}


def test_make_config_checks_gateway_and_range():
    c = ipam.make_config("10.5.0.0/16", "10.5.0.254", "10.5.1.0/24", [])
    assert c.to_docker() == {"Subnet": "10.5.0.0/16", "Gateway": "10.5.0.254", "IPRange": "10.5.1.0/24"}
    with pytest.raises(InvalidArgument, match="no matching subnet for gateway 10.6.0.1"):
        ipam.make_config("10.5.0.0/16", "10.6.0.1", None, [])
    with pytest.raises(InvalidArgument, match="no matching subnet for range 10.7.0.0/24"):
        ipam.make_config("10.5.0.0/16", None, "10.7.0.0/24", [])
    with pytest.raises(InvalidArgument, match="invalid subnet"):
        ipam.make_config("10.5.0.300/16", None, None, [])
    with pytest.raises(InvalidArgument, match="require a subnet"):
        ipam.make_config(None, "10.0.0.1", None, [])


def test_make_config_refuses_overlap_with_used_subnet():
    with pytest.raises(Conflict, match="overlaps"):
        ipam.make_config("172.18.0.0/24", None, None, [N("172.18.0.0/16")])


def test_allocator_lowest_free_skips_gateway_and_honours_fixed_and_release():
    a = ipam.Allocator(ipam.make_config("10.1.0.0/29", None, None, []))
    assert str(a.allocate()) == "10.1.0.2"
    assert str(a.allocate("10.1.0.5")) == "10.1.0.5"
    assert str(a.allocate()) == "10.1.0.3"
    with pytest.raises(Conflict, match="Address already in use: 10.1.0.5"):
        a.allocate("10.1.0.5")
    with pytest.raises(InvalidArgument, match="no configured subnet"):
        a.allocate("10.2.0.9")
    with pytest.raises(InvalidArgument, match="reserved"):
        a.allocate("10.1.0.1")
    assert str(a.allocate()) == "10.1.0.4"
    assert str(a.allocate()) == "10.1.0.6"
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        a.allocate()
    a.release("10.1.0.3")
    assert str(a.allocate()) == "10.1.0.3"


def test_allocator_uses_ip_range():
    a = ipam.Allocator(ipam.make_config("10.1.0.0/16", None, "10.1.2.0/30", []))
    assert [str(a.allocate()) for _ in range(2)] == ["10.1.2.1", "10.1.2.2"]


def test_mac_like_docker():
    assert ipam.mac_for("172.18.0.2") == "02:42:ac:12:00:02"
