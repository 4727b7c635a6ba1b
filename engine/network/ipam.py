"""IPv4 address management, pure: which subnet a new network gets, which address an endpoint gets.

Kept free of kernel and disk access so every rule (Docker's default pools, overlap
skipping, gateway / ip_range / fixed address checks) is unit-tested; the manager
feeds it the host's routes and the other networks' subnets.
"""
from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Iterable

from engine.errors import Conflict, InvalidArgument

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Addr = ipaddress.IPv4Address | ipaddress.IPv6Address


def _default_pools() -> list[Net]:
    """Docker's default local address pools, in the order Docker hands them out."""
    pools = [ipaddress.ip_network(f"172.{i}.0.0/16") for i in range(17, 32)]
    pools += list(ipaddress.ip_network("192.168.0.0/16").subnets(new_prefix=20))
    return pools


DEFAULT_POOLS: tuple[Net, ...] = tuple(_default_pools())


def parse_subnet(text: str, version: int = 4) -> Net:
    """``10.1.0.0/24`` (or an IPv6 prefix when ``version`` is 6) -> network, with Docker's wording.
    Host bits are accepted and dropped, as Docker does."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text}: invalid CIDR address: {text}") from None
    if net.version != version:
        raise InvalidArgument(f"invalid subnet {text}: expected an IPv{version} subnet")
    if net.max_prefixlen - net.prefixlen < 2:
        raise InvalidArgument(f"invalid subnet {text}: prefix /{net.prefixlen} leaves no room for containers")
    return net


def parse_address(text: str, what: str = "address", version: int = 4) -> Addr:
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise InvalidArgument(f"invalid {what} {text!r}: not an IP address") from None
    if addr.version != version:
        raise InvalidArgument(f"invalid {what} {text}: expected an IPv{version} address")
    return addr


def overlaps(net: Net, others: Iterable[Net]) -> bool:
    return any(net.overlaps(o) for o in others)


def pick_subnet(in_use: Iterable[Net], pools: Iterable[Net] = DEFAULT_POOLS) -> Net:
    """First default pool that overlaps neither a host route nor another network."""
    used = [n for n in in_use if n.prefixlen > 0]  # a default route overlaps all
    for pool in pools:
        if not overlaps(pool, used):
            return pool
    raise InvalidArgument("all predefined address pools have been fully subnetted")


@dataclass
class PoolConfig:
    """One IPAM Config entry of a network: Docker's {Subnet, Gateway, IPRange}."""

    subnet: Net
    gateway: Addr
    ip_range: Net | None = None

    def to_docker(self) -> dict:
        out = {"Subnet": str(self.subnet), "Gateway": str(self.gateway)}
        if self.ip_range is not None:
            out["IPRange"] = str(self.ip_range)
        return out

    @classmethod
    def from_docker(cls, d: dict) -> "PoolConfig":
        return cls(ipaddress.ip_network(d["Subnet"]), ipaddress.ip_address(d["Gateway"]),
                   ipaddress.ip_network(d["IPRange"]) if d.get("IPRange") else None)


def ula_pool(seed: str) -> ipaddress.IPv6Network:
    """A unique-local /48 (fd00::/8 + 40 bits) derived from ``seed`` (the data root), like the
    per-engine ULA prefix Docker 27+ hands IPv6 networks out of."""
    bits = hashlib.sha256(seed.encode()).digest()[:5]
    return ipaddress.IPv6Network((b"\xfd" + bits + b"\0" * 10, 48))


def make_config(subnet: str | None, gateway: str | None, ip_range: str | None,
                in_use: Iterable[Net], pools: Iterable[Net] = DEFAULT_POOLS, version: int = 4) -> PoolConfig:
    """Validate a user's IPAM config (or pick a pool) the way ``docker network create`` does."""
    in_use = [n for n in in_use if n.version == version]
    if subnet is None:
        if gateway or ip_range:
            raise InvalidArgument("gateway and ip-range require a subnet: use --subnet")
        net = pick_subnet(in_use, pools)
    else:
        net = parse_subnet(subnet, version)
        clash = [o for o in in_use if o.prefixlen > 0 and net.overlaps(o)]
        if clash:
            raise Conflict(f"Pool overlaps with other one on this address space ({net} overlaps {clash[0]})")
    rng = None
    if ip_range:
        rng = parse_subnet(ip_range, version)
        if not rng.subnet_of(net):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
    if gateway:
        gw = parse_address(gateway, "gateway", version)
        if gw not in net:
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
        if gw in (net.network_address, net.broadcast_address):
            raise InvalidArgument(f"invalid gateway {gateway}: network or broadcast address of {net}")
    else:
        gw = net.network_address + 1
    return PoolConfig(net, gw, rng)


@dataclass
class Allocator:
    """Addresses of one network: what is taken, and the next one to hand out."""

    config: PoolConfig
    taken: set[Addr] = field(default_factory=set)

    def _reserved(self, addr: Addr) -> bool:
        net = self.config.subnet
        return addr in (net.network_address, net.broadcast_address, self.config.gateway)

    def allocate(self, preferred: str | None = None) -> Addr:
        """A fixed address when asked (it must be in the subnet and free), else the lowest free one."""
        if preferred:
            addr = parse_address(preferred, f"IPv{self.config.subnet.version} address", self.config.subnet.version)
            if addr not in self.config.subnet:
                raise InvalidArgument(
                    f"no configured subnet or ip-range contain the IP address {preferred}")
            if self._reserved(addr):
                raise InvalidArgument(f"address {preferred} is reserved (network, broadcast or gateway)")
            if addr in self.taken:
                raise Conflict(f"Address already in use: {preferred}")
            self.taken.add(addr)
            return addr
        space = self.config.ip_range or self.config.subnet
        for addr in space.hosts() if space.max_prefixlen - space.prefixlen > 1 else space:
            if addr not in self.taken and not self._reserved(addr):
                self.taken.add(addr)
                return addr
        raise Conflict(f"no available IPv{space.version} addresses on this network's address pools: {space}")

    def release(self, addr: Addr | str) -> None:
        self.taken.discard(ipaddress.ip_address(addr))


def mac_for(addr: Addr | str) -> str:
    """Docker's MAC address derived from the IPv4 address: 02:42 then the four address bytes."""
    b = ipaddress.ip_address(addr).packed
    return "02:42:" + ":".join(f"{x:02x}" for x in b)
