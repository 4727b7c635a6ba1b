"""``Engine.networks``: network lifecycle and connect/disconnect by container reference."""
from __future__ import annotations

from engine.api._resource import EngineResource

__all__ = ["Networks"]


class Networks(EngineResource):
    """``engine.network.NetworkManager``; connect/disconnect take a container reference."""

    def _open(self, engine) -> None:
        from engine.network import NetworkManager

        self._manager = NetworkManager(engine.root)

    def create(self, name: str, driver: str = "bridge", internal: bool = False, labels: dict | None = None,
               ipam: dict | None = None, options: dict | None = None, attachable: bool = False,
               enable_ipv6: bool = False) -> dict:
        return self._manager.create(name, driver=driver, internal=internal, labels=labels, ipam=ipam,
                                   options=options, attachable=attachable, enable_ipv6=enable_ipv6)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return self._manager.list(filters)

    def inspect(self, id_or_name: str) -> dict:
        return self._manager.inspect(id_or_name)

    def remove(self, id_or_name: str) -> None:
        self._manager.remove(id_or_name)

    def prune(self, filters: dict[str, list[str]] | None = None) -> list[str]:
        return self._manager.prune(filters)

    def connect(self, net: str, container: str, aliases: list[str] | None = None,
                ipv4_address: str | None = None, mac_address: str | None = None,
                links: list[str] | None = None) -> None:
        rec = self._engine.containers.record(container)
        self._manager.connect(net, rec, aliases=aliases, ipv4_address=ipv4_address, mac_address=mac_address,
                             links_=links)

    def disconnect(self, net: str, container: str, force: bool = False) -> None:
        rec = self._engine.containers.record(container)
        self._manager.disconnect(net, rec, force=force)
