"""NetworkManager: Docker-shaped network objects (their lifecycle: this module), and the hooks that give
containers their network (each container's endpoints: engine.network.endpoints, a base class).

Objects (create/list/inspect/remove/prune/connect/disconnect) are state only; kernel objects
exist while containers use them: a network's bridge is created when its first endpoint
attaches and removed when its last one detaches, and the nftables table is re-rendered from
state on every change. So a network without running containers leaves nothing in the kernel,
and ``reconcile`` can repair anything a crash left by comparing state with what is running.

Hooks, called by the supervisor around a container's start and stop:
``prepare(record)`` (addresses, ports checked, hosts/resolv.conf written) ->
``attach(record, pid)`` (veths, routes, port rules, DNS) -> ``detach(record)`` (undo).
"""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone

from engine.errors import Conflict, InvalidArgument, NotFound
from engine.network import ipam, links, names, nft
from engine.network import ipam as ipam_mod
from engine.network import record as R
from engine.network.endpoints import Endpoints, NetPrepared, _write_etc_file  # noqa: F401 (re-exported)
from engine.network.ipam import make_config
from engine.network.netconf import (HOST_BINDING_OPT, ICC_OPT, IFACE_PREFIX_OPT, MASQ_OPT,  # noqa: F401
                                    MTU_OPT, NAME_RE, PRIVATE, opt_true, public, v4conf, v6conf)
from engine.network.store import Store
from engine.state import DataRoot

__all__ = ["NetworkManager", "NetPrepared", "HOST_BINDING_OPT"]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")



class NetworkManager(Endpoints):
    """The networks of one data root (create, inspect, list, remove, prune), their bridges and nft rules;
    the per-container endpoints and hooks are inherited from ``Endpoints``."""

    def __init__(self, root: DataRoot | str | None = None, dns=None, host_resolv_conf: str = "/etc/resolv.conf"):
        self.root = root if isinstance(root, DataRoot) else DataRoot(root)
        self.store = Store(self.root)
        self.dns = dns  # engine.network.dns.DnsServer when running inside the supervisor
        self.host_resolv_conf = host_resolv_conf
        self.table = nft.table_name(str(self.root.path))

    # ------------------------------------------------------------------ lookup
    def _find(self, ref: str, nets: list[dict] | None = None) -> dict:
        nets = self.store.networks() if nets is None else nets
        for n in nets:
            if n["Name"] == ref:
                return n
        for n in nets:
            if n["Id"] == ref:
                return n
        hits = [n for n in nets if ref and n["Id"].startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise Conflict(f"network {ref} is ambiguous ({len(hits)} matches found based on ID prefix)")
        if ref in R.PREDEFINED:
            return self._predefined(ref, nets)
        raise NotFound(f"network {ref} not found")

    def _predefined(self, name: str, nets: list[dict]) -> dict:
        """Docker's built-in networks, made on first use (``bridge`` gets a subnet like docker0)."""
        driver = {"bridge": "bridge", "host": "host", "none": "null"}[name]
        options = {}
        cfg = []
        if name == "bridge":
            used = self._subnets_in_use(nets)
            c = ipam.make_config(None, None, None, used)
            cfg = [c.to_docker()]
            options = {"com.docker.network.bridge.default_bridge": "true",
                       "com.docker.network.bridge.enable_icc": "true",
                       "com.docker.network.bridge.enable_ip_masquerade": "true",
                       "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                       MTU_OPT: "1500"}
        net = self._record(name, driver, False, {}, cfg, options, False, False)
        self.store.save_network(net)
        nets.append(net)
        return net

    def _ensure_predefined(self, nets: list[dict]) -> list[dict]:
        have = {n["Name"] for n in nets}
        for name in R.PREDEFINED:
            if name not in have:
                self._predefined(name, nets)
        return nets

    def _subnets_in_use(self, nets: list[dict]) -> list[ipaddress.IPv4Network]:
        used = []
        for n in nets:
            for c in (n.get("IPAM") or {}).get("Config") or []:
                if c.get("Subnet"):
                    used.append(ipaddress.ip_network(c["Subnet"]))
        try:
            for r in links.host_routes():
                used.append(ipaddress.ip_network(r, strict=False))
        except OSError:  # pragma: no cover - no netlink: only state counts
            pass
        return used

    def _record(self, name, driver, internal, labels, config, options, attachable, ipv6) -> dict:
        net_id = names.new_id()
        return {
            "Name": name, "Id": net_id, "Created": _now(), "Scope": "local", "Driver": driver,
            "EnableIPv4": True, "EnableIPv6": ipv6,
            "IPAM": {"Driver": "default", "Options": {}, "Config": config},
            "Internal": internal, "Attachable": attachable, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
            "Options": options, "Labels": labels,
            PRIVATE: {"bridge": names.bridge_name(net_id) if driver == "bridge" else ""},
        }

    # ------------------------------------------------------------------ objects
    def create(self, name: str, driver: str = "bridge", internal: bool = False, labels: dict | None = None,
               ipam: dict | None = None, options: dict | None = None, attachable: bool = False,
               enable_ipv6: bool = False, check_duplicate: bool = True) -> dict:
        if not name or not NAME_RE.match(name):
            raise InvalidArgument(f'invalid network name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        driver = driver or "bridge"
        if driver in ("host", "null"):
            raise Conflict(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        options = {str(k): str(v) for k, v in (options or {}).items()}
        if MTU_OPT in options:
            try:
                mtu = int(options[MTU_OPT])
            except ValueError:
                raise InvalidArgument(f"invalid MTU {options[MTU_OPT]!r}: not a number") from None
            if not 68 <= mtu <= 65535:
                raise InvalidArgument(f"invalid MTU {mtu}: must be between 68 and 65535")
        if options.get(HOST_BINDING_OPT):
            ipam_mod.parse_address(options[HOST_BINDING_OPT], HOST_BINDING_OPT)
        prefix = options.get(IFACE_PREFIX_OPT)
        if prefix is not None and not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9]{0,11}", prefix):
            raise InvalidArgument(f"invalid {IFACE_PREFIX_OPT} {prefix!r}: 1-12 letters or digits, "
                                  "starting with a letter")
        if "com.docker.network.bridge.name" in options:
            raise InvalidArgument("com.docker.network.bridge.name cannot be set: pycompose names each bridge "
                                  "pc-<id> so that it can never take over an existing host interface")
        ipam = ipam or {}
        if (ipam.get("Driver") or "default") != "default":
            raise NotFound(f'IPAM driver "{ipam["Driver"]}" not found; only "default" is available')
        cfgs = [c for c in ipam.get("Config") or [] if c]
        v6 = [c for c in cfgs if ":" in (c.get("Subnet") or "")]
        v4 = [c for c in cfgs if c not in v6]
        if v6 and not enable_ipv6:
            raise InvalidArgument(f"IPv6 subnet {v6[0]['Subnet']} given but IPv6 is not enabled on network {name}: "
                                  "use --ipv6 (compose: enable_ipv6: true)")
        if len(v4) > 1 or len(v6) > 1:
            raise InvalidArgument("only one IPv4 and one IPv6 IPAM config (subnet) per network are supported")
        with self.store.lock():
            nets = self.store.networks()
            if check_duplicate and (any(n["Name"] == name for n in nets) or name in R.PREDEFINED):
                raise Conflict(f"network with name {name} already exists")
            c = v4[0] if v4 else {}
            used = self._subnets_in_use(nets)
            conf = make_config(c.get("Subnet"), c.get("Gateway"), c.get("IPRange"), used)
            confs = [conf.to_docker()]
            c6 = v6[0] if v6 else {}
            if enable_ipv6:
                conf6 = make_config(c6.get("Subnet"), c6.get("Gateway"), c6.get("IPRange"), used,
                                    ipam_mod.ula_pool(str(self.root.path)).subnets(new_prefix=64), version=6)
                confs.append(conf6.to_docker())
            net = self._record(name, "bridge", bool(internal), dict(labels or {}), confs,
                               options, bool(attachable), bool(enable_ipv6))
            net["IPAM"]["Options"] = dict(ipam.get("Options") or {})
            net[PRIVATE]["user_subnet"] = bool(c.get("Subnet"))
            net[PRIVATE]["user_subnet6"] = bool(c6.get("Subnet"))
            self.store.save_network(net)
            return self._inspect_view(net)

    def _inspect_view(self, net: dict, eps: list[dict] | None = None) -> dict:
        out = public(net)
        eps = self.store.endpoints() if eps is None else eps
        containers = {}
        for ep in eps:
            if not ep.get("Active"):
                continue
            for e in ep["Networks"]:
                if e.get("NetworkID") == net["Id"] and e.get("IPAddress"):
                    containers[ep["Id"]] = {
                        "Name": ep["Name"], "EndpointID": e["EndpointID"], "MacAddress": e["Mac"],
                        "IPv4Address": f"{e['IPAddress']}/{e['IPPrefixLen']}",
                        "IPv6Address": f"{e['GlobalIPv6Address']}/{e['GlobalIPv6PrefixLen']}"
                        if e.get("GlobalIPv6Address") else ""}
        out["Containers"] = containers
        return out

    def inspect(self, ref: str) -> dict:
        with self.store.lock():
            return self._inspect_view(self._find(ref))

    def list(self, filters: dict | None = None) -> list[dict]:
        from engine.network.filters import match_network

        with self.store.lock():
            nets = self._ensure_predefined(self.store.networks())
            eps = self.store.endpoints()
            views = [self._inspect_view(n, eps) for n in nets]
        return [v for v in views if match_network(v, filters or {})]

    def remove(self, ref: str) -> None:
        with self.store.lock():
            net = self._find(ref)
            if net["Name"] in R.PREDEFINED:
                raise Conflict(f"{net['Name']} is a pre-defined network and cannot be removed")
            if self._inspect_view(net)["Containers"]:
                raise Conflict(f"error while removing network: network {net['Name']} id {net['Id']} "
                               "has active endpoints")
            br = net.get(PRIVATE, {}).get("bridge")
            if br:
                links.delete_link(br)
            self.store.delete_network(net["Id"])
            self.store.bump()

    def prune(self, filters: dict | None = None) -> list[str]:
        from engine.network.filters import match_prune

        removed = []
        for v in self.list():
            if v["Name"] in R.PREDEFINED or v["Containers"] or not match_prune(v, filters or {}):
                continue
            try:
                self.remove(v["Id"])
                removed.append(v["Name"])
            except (Conflict, NotFound):
                continue  # became busy or vanished meanwhile
        return removed

    # ------------------------------------------------------------------ membership

    def _gc_bridges(self) -> None:
        """Bridges of networks without an active endpoint go away (nothing of ours idles in the kernel)."""
        active = {e["NetworkID"] for ep in self.store.endpoints() if ep.get("Active") for e in ep["Networks"]}
        for n in self.store.networks():
            br = n.get(PRIVATE, {}).get("bridge")
            if br and n["Id"] not in active:
                links.delete_link(br)

    def _apply_rules(self, force: bool = False) -> None:
        """Re-render our nft table from state; skipped when the script is the one already loaded
        (every nf_tables commit that deletes anything waits an RCU grace period, ~14 ms)."""
        nets = {n["Id"]: n for n in self.store.networks()}
        net_rules, port_rules, net_rules6 = set(), [], set()
        for ep in self.store.endpoints():
            if not ep.get("Active"):
                continue
            for e in ep["Networks"]:
                n = nets.get(e["NetworkID"])
                if n and e["IPAddress"]:
                    opts = n.get("Options") or {}
                    flags = (bool(n["Internal"]), opt_true(opts, ICC_OPT), opt_true(opts, MASQ_OPT))
                    net_rules.add(nft.NetRule(n[PRIVATE]["bridge"], str(v4conf(n).subnet), *flags))
                    if v6conf(n):
                        net_rules6.add(nft.NetRule(n[PRIVATE]["bridge"], str(v6conf(n).subnet), *flags))
            target = next((e for e in ep["Networks"] if e["IPAddress"] and not e["Internal"]), None)
            if target:
                for m in ep.get("Ports") or []:
                    port_rules.append(nft.PortRule(m["proto"], m["host_ip"], m["host_port"], target["IPAddress"],
                                                   m["container_port"], ep["Id"]))
        before = self.store.applied_rules()
        script = nft.render(sorted(net_rules, key=lambda r: r.bridge), port_rules, self.table,
                            sorted(net_rules6, key=lambda r: r.bridge), drop6=force or "table ip6" in before)
        if not force and script == before:
            return
        if not net_rules and not port_rules and not nft.table_exists(self.table):
            self.store.set_applied_rules(script)
            return
        self.store.set_applied_rules("")  # unknown while loading: a crash here forces the next load
        nft.apply(script)
        self.store.set_applied_rules(script)
