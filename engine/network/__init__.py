"""Networks of pycompose's engine: bridges, veth pairs, IPAM, published ports, embedded DNS.

``NetworkManager`` (engine.network.manager: the networks' lifecycle) is both ``Engine.networks``
and, through its base ``Endpoints`` (engine.network.endpoints), the container hooks the supervisor calls; ``DnsServer`` (engine.network.dns) runs in a child of the supervisor (engine.network.dnsproc).

Every name here is imported on first use, and the manager itself reaches pyroute2 (netlink)
and dnslib only in the functions that talk to the kernel or serve DNS: commands that only
read network state (``ps``, ``container ls``, ``network ls``) must not pay their import time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.network.hooks import SupervisorNetwork
    from engine.network.endpoints import NetPrepared
    from engine.network.manager import NetworkManager

__all__ = ["NetworkManager", "NetPrepared", "SupervisorNetwork"]

_LAZY = {
    "NetworkManager": "engine.network.manager",
    "NetPrepared": "engine.network.endpoints",
    "SupervisorNetwork": "engine.network.hooks",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.network' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
