"""What the supervisor does for networking, in five calls (it owns the container processes
and must host the DNS server, so it is the one place these run):

    net = SupervisorNetwork(root)
    net.start(live_container_ids)        # at daemon start: DNS up, leftovers of a crash released
    prep = net.before_start(record)      # before creating the process: leases, port check
                                         #   (Conflict naming the port), hosts/resolv.conf written
    runtime.start(spec, ..., prestart=net.prestart(record))   # veths, routes, rules, DNS socket
    net.after_exit(record)               # the process is gone: rules, leases, DNS names released
    net.stop()                           # at daemon exit (containers keep their network)

A restarted supervisor calling ``start`` with the containers it re-adopted keeps their
networking and re-opens their DNS sockets from state.
"""
from __future__ import annotations

from typing import Callable

from engine.network.dnsproc import DnsProcess
from engine.network.manager import NetPrepared, NetworkManager
from engine.state import DataRoot


class SupervisorNetwork:
    def __init__(self, root: DataRoot | str | None = None, upstreams: list[tuple[str, int]] | None = None):
        self.dns = DnsProcess(root, upstreams=upstreams)  # as the supervisor runs it
        self.manager = NetworkManager(root, dns=self.dns)

    def start(self, live_container_ids) -> list[str]:
        """Start DNS and release what containers that are not running any more still hold."""
        released = self.manager.reconcile(live_container_ids)
        self.dns.start()
        return released

    def before_start(self, record: dict) -> NetPrepared:
        return self.manager.prepare(record)

    def prestart(self, record: dict) -> Callable[[int], None]:
        """The runtime's ``prestart(pid)`` hook: wire the waiting container into its networks."""
        return lambda pid: self.manager.attach(record, pid)

    def after_exit(self, record: dict | str) -> None:
        self.manager.detach(record)

    def removed(self, record: dict | str) -> None:
        self.manager.forget(record)

    def stop(self) -> None:
        self.dns.stop()
