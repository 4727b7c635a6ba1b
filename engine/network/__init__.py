"""Networks of pycompose's engine: bridges, veth pairs, IPAM, published ports, embedded DNS.

``NetworkManager`` (engine.network.manager) is both ``Engine.networks`` and the set of
container hooks the supervisor calls; ``DnsServer`` (engine.network.dns) runs in the supervisor.
"""
from engine.network.manager import NetPrepared, NetworkManager

__all__ = ["NetworkManager", "NetPrepared", "SupervisorNetwork"]


def __getattr__(name):  # lazy: the CLI must not import dnslib to list networks
    if name == "SupervisorNetwork":
        from engine.network.hooks import SupervisorNetwork

        return SupervisorNetwork
    raise AttributeError(name)
