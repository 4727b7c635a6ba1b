"""What a network record carries besides Docker's fields: the option names pycompose reads, the
private section (``_pycompose``: the bridge's name, whether the subnet was chosen by the user) and
its address pools. Shared by the network lifecycle (manager.py) and the endpoints (endpoints.py)."""
from __future__ import annotations

import re

from engine.network import ipam

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
MTU_OPT = "com.docker.network.driver.mtu"
ICC_OPT = "com.docker.network.bridge.enable_icc"
MASQ_OPT = "com.docker.network.bridge.enable_ip_masquerade"
HOST_BINDING_OPT = "com.docker.network.bridge.host_binding_ipv4"
IFACE_PREFIX_OPT = "com.docker.network.container_iface_prefix"
PRIVATE = "_pycompose"


def opt_true(opts: dict, key: str) -> bool:
    return str(opts.get(key, "true")).lower() not in ("false", "0", "no")


def iface_name(net: dict, index: int) -> str:
    """eth0, eth1... (or the network's com.docker.network.container_iface_prefix)."""
    return f"{(net.get('Options') or {}).get(IFACE_PREFIX_OPT) or 'eth'}{index}"


def v4conf(net: dict) -> ipam.PoolConfig:
    return ipam.PoolConfig.from_docker(next(c for c in net["IPAM"]["Config"] if ":" not in c["Subnet"]))


def v6conf(net: dict) -> ipam.PoolConfig | None:
    c = next((c for c in net["IPAM"]["Config"] if ":" in c["Subnet"]), None)
    return ipam.PoolConfig.from_docker(c) if c else None


def public(net: dict) -> dict:
    """The record as ``network inspect`` shows it (the private section left out)."""
    return {k: v for k, v in net.items() if k != PRIVATE}
