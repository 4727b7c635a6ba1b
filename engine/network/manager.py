"""NetworkManager: Docker-shaped network objects, and the hooks that give containers their network.

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

import contextlib
import dataclasses
import ipaddress
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from engine.errors import Conflict, EngineError, InvalidArgument, NotFound
from engine.network import hostfiles, ipam, links, names, nft, ports
from engine.network import ipam as ipam_mod
from engine.network import record as R
from engine.network.ipam import make_config
from engine.network.store import Store
from engine.state import DataRoot

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
MTU_OPT = "com.docker.network.driver.mtu"
ICC_OPT = "com.docker.network.bridge.enable_icc"
MASQ_OPT = "com.docker.network.bridge.enable_ip_masquerade"
HOST_BINDING_OPT = "com.docker.network.bridge.host_binding_ipv4"
IFACE_PREFIX_OPT = "com.docker.network.container_iface_prefix"


def _opt_true(opts: dict, key: str) -> bool:
    return str(opts.get(key, "true")).lower() not in ("false", "0", "no")


def _ifname(net: dict, index: int) -> str:
    """eth0, eth1... (or the network's com.docker.network.container_iface_prefix)."""
    return f"{(net.get('Options') or {}).get(IFACE_PREFIX_OPT) or 'eth'}{index}"
PRIVATE = "_pycompose"


@dataclass
class NetPrepared:
    """What the runtime needs before it starts the container."""

    mode: str                 # "bridge" (own netns with our veths), "none", "host", "container:<id>"
    hosts_path: str
    resolv_conf_path: str
    hosts: str
    resolv_conf: str
    hostname: str


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _netns_id(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return ""


def _same_netns(pid: int, recorded: str | None) -> bool:
    """Is ``pid`` still the process we attached (same network namespace), not a dead or reused pid?"""
    now = _netns_id(pid)
    return bool(now) and (not recorded or now == recorded)


def _running_build_step(root: DataRoot, ep: dict) -> bool:
    """An endpoint of no container record whose process still runs: a ``RUN`` step of a build."""
    return (bool(ep.get("Active")) and bool(ep.get("Pid")) and _same_netns(int(ep["Pid"]), ep.get("NetNS"))
            and not (root.path / "containers" / ep["Id"] / "config.json").exists())


def _v4conf(net: dict) -> ipam.PoolConfig:
    return ipam.PoolConfig.from_docker(next(c for c in net["IPAM"]["Config"] if ":" not in c["Subnet"]))


def _v6conf(net: dict) -> ipam.PoolConfig | None:
    c = next((c for c in net["IPAM"]["Config"] if ":" in c["Subnet"]), None)
    return ipam.PoolConfig.from_docker(c) if c else None


def _write_etc_file(path: Path, text: str) -> None:
    """A container's hosts/resolv.conf as ``prepare`` writes them: skipped when unchanged, else
    a complete temporary file renamed over the old one, without fsync.

    Why no fsync (it was ~13 of prepare's ~16 ms, on every start): ``prepare`` rebuilds both
    files from the records before each start, so what a machine crash could lose is rewritten
    before anything reads it; the rename still keeps readers from ever seeing half a file.
    Replacing the inode is safe here: the container is not running (its bind mounts are made
    after this); a running container's hosts is rewritten in place by ``_refresh_hosts``."""
    data = text.encode()
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # prepare holds the store lock
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # not the umask's say: the container's users read these
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _public(net: dict) -> dict:
    return {k: v for k, v in net.items() if k != PRIVATE}


class NetworkManager:
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
        out = _public(net)
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
    def _membership(self, rec: dict) -> dict:
        """The container's endpoint state, made from its record the first time."""
        ep = self.store.endpoint(R.cid(rec))
        if ep is not None:
            ep.update(Name=R.name(rec), Hostname=R.hostname(rec), Domainname=R.domainname(rec))
            ep["ExposedPorts"] = R.exposed_ports(rec)
            return ep
        mode = R.network_mode(rec)
        eps_cfg = R.endpoints_config(rec)
        nets: list[dict] = []
        if mode not in ("host", "none") and not mode.startswith("container:"):
            order = [mode] + [k for k in eps_cfg if k != mode]
            for ref in order:
                cfg = eps_cfg.get(ref) or {}
                ipam_cfg = cfg.get("IPAMConfig") or {}
                nets.append(self._member(ref, cfg.get("Aliases"), ipam_cfg.get("IPv4Address"), cfg.get("MacAddress"),
                                         cfg.get("Links"), cfg.get("GwPriority") or cfg.get("Priority") or 0,
                                         ipam_cfg.get("IPv6Address")))
            first, rest = nets[:1], nets[1:]
            rest.sort(key=lambda e: -int(e["Priority"] or 0))  # stable: the record's order otherwise
            nets = first + rest
        return {"Id": R.cid(rec), "Name": R.name(rec), "Hostname": R.hostname(rec),
                "Domainname": R.domainname(rec), "Mode": mode, "Networks": nets, "Ports": [],
                "ExposedPorts": R.exposed_ports(rec), "Pid": None, "Active": False}

    @staticmethod
    def _member(ref, aliases, ipv4, mac, links_, priority=0, ipv6=None) -> dict:
        ipam_cfg = {k: v for k, v in (("IPv4Address", ipv4), ("IPv6Address", ipv6)) if v}
        return {"Ref": ref, "NetworkID": "", "Aliases": list(aliases or []),
                "IPAMConfig": ipam_cfg, "MacAddress": mac or "",
                "Links": list(links_ or []), "Priority": priority, "IPAddress": "", "IPPrefixLen": 0,
                "Gateway": "", "Mac": "", "EndpointID": "", "Interface": "", "HostVeth": "", "Internal": False}

    def _resolve_member(self, e: dict, nets: list[dict], missing_ok: bool = False) -> dict:
        """The network of a membership: by id, else by the name it was given (a network removed
        and made again by ``compose down/up`` keeps its name, not its id)."""
        for ref in filter(None, (e.get("NetworkID"), e.get("Ref"))):
            try:
                return self._find(ref, nets)
            except NotFound:
                continue
        if missing_ok:
            return {}
        raise NotFound(f"network {e.get('Ref') or e.get('NetworkID')} not found")

    def _heal(self) -> None:
        """Release endpoints whose process is gone (SIGKILL, dead supervisor) before anyone counts
        their addresses or ports as taken; ``reconcile`` does the same for a whole root."""
        dead = []
        for ep in self.store.endpoints():
            if ep.get("Active") and ep.get("Pid") and not _same_netns(ep["Pid"], ep.get("NetNS")):
                self._release(ep)
                self.store.save_endpoint(ep)
                dead.append(ep["Id"])
        if dead:
            self._gc_bridges()
            self._apply_rules()
            self.store.bump()
        return None

    def _lease(self, ep: dict, e: dict, net: dict, taken_by_net: dict) -> None:
        """Give endpoint ``e`` an address on ``net`` (its fixed one when asked)."""
        if net["Name"] == "bridge" and e["Aliases"]:
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        if e["IPAMConfig"].get("IPv4Address") and not net.get(PRIVATE, {}).get("user_subnet"):
            raise InvalidArgument("user specified IP address is supported only when connecting to networks "
                                  "with user configured subnets")
        conf, conf6 = _v4conf(net), _v6conf(net)
        if e["IPAMConfig"].get("IPv6Address") and not (conf6 and net.get(PRIVATE, {}).get("user_subnet6")):
            raise InvalidArgument("user specified IP address is supported only when connecting to networks "
                                  "with user configured subnets")
        taken = taken_by_net.setdefault(net["Id"], set())
        addr = ipam.Allocator(conf, taken).allocate(e["IPAMConfig"].get("IPv4Address"))
        e.update(NetworkID=net["Id"], IPAddress=str(addr), IPPrefixLen=conf.subnet.prefixlen,
                 Gateway=str(conf.gateway), Mac=e["MacAddress"] or ipam.mac_for(addr),
                 EndpointID=names.endpoint_id(net["Id"], ep["Id"]),
                 HostVeth=names.veth_name(net["Id"], ep["Id"]), Internal=bool(net["Internal"]),
                 GlobalIPv6Address="", GlobalIPv6PrefixLen=0, IPv6Gateway="")
        if conf6:
            addr6 = ipam.Allocator(conf6, taken).allocate(e["IPAMConfig"].get("IPv6Address"))
            e.update(GlobalIPv6Address=str(addr6), GlobalIPv6PrefixLen=conf6.subnet.prefixlen,
                     IPv6Gateway=str(conf6.gateway))

    def _taken(self, except_cid: str) -> tuple[dict, list[ports.Mapping]]:
        by_net: dict[str, set] = {}
        used: list[ports.Mapping] = []
        for other in self.store.endpoints():
            if other["Id"] == except_cid:
                continue
            for e in other["Networks"]:
                for key in ("IPAddress", "GlobalIPv6Address"):
                    if e.get(key):
                        by_net.setdefault(e["NetworkID"], set()).add(ipaddress.ip_address(e[key]))
            used += [ports.Mapping(**m) for m in other.get("Ports") or []]
        return by_net, used

    def check_ports(self, host_config: dict | None, exposed_ports: dict | None = None,
                    container_id: str = "") -> list[ports.Mapping]:
        """Would these published ports be free right now? Conflict naming the first taken one.
        For ``containers.create``: refuse a taken port before the container exists (nothing is kept)."""
        reqs = ports.requests_from(host_config, exposed_ports)
        if not reqs:
            return []
        with self.store.lock():
            self._heal()
            _, used = self._taken(container_id)
            return ports.resolve(reqs, used)

    # ------------------------------------------------------------------ hooks
    def prepare(self, rec: dict) -> NetPrepared:
        """Leases and host ports decided (or a Conflict naming the port) and hosts/resolv.conf written,
        all before the container exists; nothing is saved when anything fails."""
        with self.store.lock():
            self._heal()
            nets = self.store.networks()
            ep = self._membership(rec)
            self._release(ep)
            by_net, used = self._taken(ep["Id"])
            for e in ep["Networks"]:
                net = self._resolve_member(e, nets)
                if net["Driver"] != "bridge":
                    raise InvalidArgument(f"container cannot be connected to network {net['Name']} "
                                          f"(driver {net['Driver']}) together with others")
                self._lease(ep, e, net, by_net)
            reqs = ports.requests_from(R.host_config(rec), R.exposed_ports(rec))
            if not ep["Networks"]:
                reqs = []  # Docker ignores published ports outside a network of its own
            else:
                primary = self._resolve_member(ep["Networks"][0], nets)
                default_ip = (primary.get("Options") or {}).get(HOST_BINDING_OPT, "")
                if default_ip and default_ip != "0.0.0.0":
                    reqs = [dataclasses.replace(r, host_ip=r.host_ip or default_ip) for r in reqs]
            mappings = ports.resolve(reqs, used)
            ep["Ports"] = [m.__dict__ for m in mappings]
            ep["Dns"] = list(R.host_config(rec).get("Dns") or [])
            ep["Links"] = [list(l) for l in R.links(rec)]
            hosts, resolv = self._hostfiles(rec, ep, nets)
            cdir = self.root.dir("containers", ep["Id"])
            hp, rp = cdir / "hosts", cdir / "resolv.conf"
            _write_etc_file(hp, hosts)
            _write_etc_file(rp, resolv)
            ep["Active"], ep["Pid"] = False, None
            self.store.save_endpoint(ep)
            return NetPrepared(ep["Mode"] if ep["Mode"] in ("host", "none") or ep["Mode"].startswith("container:")
                               else "bridge", str(hp), str(rp), hosts, resolv, R.hostname(rec))

    def _hostfiles(self, rec: dict, ep: dict, nets: list[dict]) -> tuple[str, str]:
        hc = R.host_config(rec)
        mode = ep["Mode"]
        try:
            host_resolv = Path(self.host_resolv_conf).read_text()
        except OSError:
            host_resolv = ""
        if mode.startswith("container:"):
            other = self.store.endpoint(self._container_ref(mode[10:]))
            d = self.root.dir("containers", other["Id"], create=False) if other else None
            if d and (d / "hosts").exists():
                return (d / "hosts").read_text(), (d / "resolv.conf").read_text()
        if mode == "host":
            try:
                hosts = Path("/etc/hosts").read_text()
            except OSError:
                hosts = hostfiles.HOSTS_HEADER
            return hosts, hostfiles.render_resolv_conf(host_resolv, False, hc.get("Dns"), hc.get("DnsSearch"),
                                                       hc.get("DnsOptions"))
        gw = next((e["Gateway"] for e in ep["Networks"] if e["Gateway"]), None)
        extra = [hostfiles.parse_extra_host(x, gw) for x in hc.get("ExtraHosts") or []]
        hn = ep["Hostname"]
        full = [f"{hn}.{ep['Domainname']}", hn] if ep["Domainname"] else [hn]
        own = [(e["IPAddress"], full) for e in ep["Networks"] if e["IPAddress"]]
        own += [(e["GlobalIPv6Address"], full) for e in ep["Networks"] if e.get("GlobalIPv6Address")]
        link_lines = []
        user_net = any(self._find(e["NetworkID"], nets)["Name"] != "bridge" for e in ep["Networks"])
        if not user_net:  # legacy links on the default bridge are /etc/hosts lines
            for target, alias in ep["Links"]:
                t = self._endpoint_by_name(target)
                ip = next((x["IPAddress"] for x in (t or {}).get("Networks", []) if x["IPAddress"]), None)
                if not ip:
                    raise NotFound(f"could not get container for {target}")
                link_lines.append((ip, [alias, target] if alias != target else [target]))
        hosts = hostfiles.render_hosts(own, extra, link_lines)
        resolv = hostfiles.render_resolv_conf(host_resolv, user_net, hc.get("Dns"), hc.get("DnsSearch"),
                                              hc.get("DnsOptions"))
        return hosts, resolv

    def _endpoint_by_name(self, name: str) -> dict | None:
        for ep in self.store.endpoints():
            if ep["Name"] == name or ep["Id"] == name or ep["Id"].startswith(name):
                return ep
        return None

    def _container_ref(self, ref: str) -> str:
        ep = self._endpoint_by_name(ref)
        return ep["Id"] if ep else ref

    def attach(self, rec: dict, pid: int) -> None:
        """Wire the (waiting) container process ``pid`` into its networks."""
        cid = R.cid(rec)
        with self.store.lock():
            ep = self.store.endpoint(cid)
            if ep is None or not all(e["IPAddress"] for e in ep["Networks"]):
                raise Conflict(f"container {cid[:12]} was not prepared for networking")
            ep["NetNS"] = _netns_id(pid)
            if ep["Mode"] == "host" or ep["Mode"].startswith("container:"):
                ep["Active"], ep["Pid"] = True, pid
                self.store.save_endpoint(ep)
                return
            nets = {n["Id"]: n for n in self.store.networks()}
            done = []
            try:
                links.loopback_up(pid)
                route_set = False
                for i, e in enumerate(ep["Networks"]):
                    gw = None
                    if not e["Internal"] and not route_set:
                        gw, route_set = e["Gateway"], True
                    self._plug(ep, e, nets[e["NetworkID"]], pid, _ifname(nets[e["NetworkID"]], i), gw)
                    done.append(e)
                ep["Active"], ep["Pid"] = True, pid
                self.store.save_endpoint(ep)
                self._apply_rules()
            except BaseException:
                for e in done:
                    links.delete_link(e["HostVeth"])
                ep["Active"], ep["Pid"] = False, None
                self.store.save_endpoint(ep)
                self._gc_bridges()
                raise
            self.store.bump()
        if self.dns is not None and self._uses_dns(ep):
            self.dns.add_container(cid, pid)

    def _uses_dns(self, ep: dict) -> bool:
        nets = {n["Id"]: n for n in self.store.networks()}
        return any(nets.get(e["NetworkID"], {}).get("Name") != "bridge" for e in ep["Networks"])

    def _plug(self, ep, e, net, pid, ifname, gateway) -> None:
        br = net[PRIVATE]["bridge"]
        conf, conf6 = _v4conf(net), _v6conf(net)
        mtu = int(net["Options"].get(MTU_OPT) or 0) or None
        links.ensure_bridge(br, str(conf.gateway), conf.subnet.prefixlen, mtu,
                            str(conf6.gateway) if conf6 else None, conf6.subnet.prefixlen if conf6 else 64)
        if not net["Internal"]:
            links.enable_forwarding(ipv6=conf6 is not None)
        links.delete_link(e["HostVeth"])  # a leftover from a crash
        links.add_endpoint(pid, e["HostVeth"], br, ifname, e["IPAddress"], e["IPPrefixLen"], e["Mac"], mtu, gateway,
                           e.get("GlobalIPv6Address") or None, e.get("GlobalIPv6PrefixLen") or 64,
                           e.get("IPv6Gateway") if gateway and e.get("GlobalIPv6Address") else None)
        e["Interface"] = ifname

    def detach(self, rec: dict | str) -> None:
        """Undo attach (and prepare's leases); safe to call twice or for a container never attached."""
        cid = rec if isinstance(rec, str) else R.cid(rec)
        with self.store.lock():
            ep = self.store.endpoint(cid)
            if ep is None:
                return
            self._release(ep)
            self.store.save_endpoint(ep)
            self._gc_bridges()
            self._apply_rules()
            self.store.bump()
        if self.dns is not None:
            self.dns.remove_container(cid)

    def rename(self, rec: dict | str, new_name: str) -> None:
        """``docker rename``: the container answers to its new name in DNS at once."""
        cid = rec if isinstance(rec, str) else R.cid(rec)
        with self.store.lock():
            ep = self.store.endpoint(cid)
            if ep is None:
                return
            ep["Name"] = new_name.lstrip("/")
            self.store.save_endpoint(ep)
            self.store.bump()

    def forget(self, rec: dict | str) -> None:
        """The container is removed: detach it and drop its membership."""
        cid = rec if isinstance(rec, str) else R.cid(rec)
        self.detach(cid)
        with self.store.lock():
            self.store.delete_endpoint(cid)

    def _release(self, ep: dict) -> None:
        for e in ep["Networks"]:
            if e.get("HostVeth"):
                links.delete_link(e["HostVeth"])
            e.update(IPAddress="", IPPrefixLen=0, Gateway="", Mac="", EndpointID="", Interface="", HostVeth="",
                     GlobalIPv6Address="", GlobalIPv6PrefixLen=0, IPv6Gateway="")
        ep["Ports"], ep["Active"], ep["Pid"] = [], False, None

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
                    flags = (bool(n["Internal"]), _opt_true(opts, ICC_OPT), _opt_true(opts, MASQ_OPT))
                    net_rules.add(nft.NetRule(n[PRIVATE]["bridge"], str(_v4conf(n).subnet), *flags))
                    if _v6conf(n):
                        net_rules6.add(nft.NetRule(n[PRIVATE]["bridge"], str(_v6conf(n).subnet), *flags))
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

    # ------------------------------------------------------------------ connect / disconnect
    def _as_record(self, container: dict | str) -> dict:
        """A container record, given as one or as a name / id / id prefix (read from engine.containers)."""
        if isinstance(container, dict):
            return container
        from engine.containers import ContainerStore

        cs = ContainerStore(self.root)
        rec = dict(cs.get(container))
        rec["State"] = cs.state(rec["Id"])
        return rec

    def connect(self, net_ref: str, container: dict | str, aliases: list[str] | None = None,
                ipv4_address: str | None = None, mac_address: str | None = None, links_: list[str] | None = None) -> None:
        """Add a network to a container; a running one gets its new interface at once."""
        rec = self._as_record(container)
        cid = R.cid(rec)
        pid = R.pid(rec)
        with self.store.lock():
            nets = self.store.networks()
            net = self._find(net_ref, nets)
            ep = self._membership(rec)
            if ep["Mode"] in ("host", "none") or ep["Mode"].startswith("container:") or net["Driver"] != "bridge":
                raise Conflict(f"container cannot be disconnected from host network or connected to host network"
                               if "host" in (ep["Mode"], net["Name"]) else
                               f"container sharing network namespace with another container or a network "
                               f"mode of {ep['Mode']} cannot be connected to any other network")
            for e in ep["Networks"]:
                if e["NetworkID"] == net["Id"] or self._resolve_member(e, nets, missing_ok=True).get("Id") == net["Id"]:
                    raise Conflict(f"endpoint with name {ep['Name']} already exists in network {net['Name']}")
            e = self._member(net["Name"], aliases, ipv4_address, mac_address, links_)
            e["NetworkID"] = net["Id"]
            if ipv4_address:
                ipam.parse_address(ipv4_address, "IPv4 address")
            running = bool(ep.get("Active") and pid)
            if running:
                by_net, _ = self._taken(cid)
                self._lease(ep, e, net, by_net)
                used = {x["Interface"] for x in ep["Networks"]}
                ifname = next(_ifname(net, i) for i in range(64) if _ifname(net, i) not in used)
                has_route = any(x["IPAddress"] and not x["Internal"] for x in ep["Networks"])
                try:
                    self._plug(ep, e, net, pid, ifname, None if has_route or e["Internal"] else e["Gateway"])
                except BaseException:
                    self._gc_bridges()
                    raise
            ep["Networks"].append(e)
            self.store.save_endpoint(ep)
            if running:
                self._apply_rules()
                self.store.bump()
                self._refresh_hosts(rec, ep, nets)
        if running and self.dns is not None:
            self.dns.add_container(cid, pid)

    def disconnect(self, net_ref: str, container: dict | str, force: bool = False) -> None:
        rec = self._as_record(container)
        cid = R.cid(rec)
        with self.store.lock():
            nets = self.store.networks()
            try:
                net = self._find(net_ref, nets)
            except NotFound:
                if not force:
                    raise
                net = {"Id": net_ref, "Name": net_ref}
            ep = self._membership(rec)
            keep, gone = [], None
            for e in ep["Networks"]:
                try:
                    nid = e["NetworkID"] or self._find(e["Ref"], nets)["Id"]
                except NotFound:
                    nid = e["Ref"]
                if gone is None and nid == net["Id"]:
                    gone = e
                else:
                    keep.append(e)
            if gone is None:
                raise NotFound(f"container {cid[:12]} is not connected to network {net['Name']}")
            had_route = next((e for e in ep["Networks"] if e["IPAddress"] and not e["Internal"]), None) is gone
            if gone.get("HostVeth"):
                links.delete_link(gone["HostVeth"])
            ep["Networks"] = keep
            nxt = next((e for e in keep if e["IPAddress"] and not e["Internal"]), None)
            if had_route and nxt and ep.get("Active") and ep.get("Pid"):
                # the default route left with the interface: the next network takes over, as in Docker
                with contextlib.suppress(EngineError, OSError):
                    links.set_default_route(ep["Pid"], nxt["Interface"], nxt["Gateway"])
            self.store.save_endpoint(ep)
            self._gc_bridges()
            self._apply_rules()
            self.store.bump()
            if ep.get("Active"):
                self._refresh_hosts(rec, ep, nets)

    def _refresh_hosts(self, rec: dict, ep: dict, nets: list[dict]) -> None:
        """A running container's /etc/hosts follows its addresses. Written in place: the file is
        bind-mounted into the container, and a rename would leave the mount on the old inode."""
        path = self.root.path / "containers" / ep["Id"] / "hosts"
        if not path.exists():
            return
        try:
            hosts, _ = self._hostfiles(rec, ep, nets)
        except EngineError:
            return  # e.g. a link target is gone: keep the file as it is
        with open(path, "r+") as f:
            f.write(hosts)
            f.truncate()

    # ------------------------------------------------------------------ inspect data / crash repair
    def network_settings(self, rec: dict) -> dict:
        """Docker's NetworkSettings for container inspect."""
        ep = self.store.endpoint(R.cid(rec)) or self._membership(rec)
        nets = {n["Id"]: n for n in self.store.networks()}
        by_name = {n["Name"]: n for n in nets.values()}
        out_nets = {}
        for e in ep["Networks"]:
            n = nets.get(e["NetworkID"]) or by_name.get(e["Ref"]) or {"Name": e["Ref"], "Id": ""}
            out_nets[n["Name"]] = {
                "IPAMConfig": e["IPAMConfig"] or None, "Links": e["Links"] or None,
                "Aliases": e["Aliases"] or None, "MacAddress": e["Mac"], "DriverOpts": None,
                "GwPriority": e.get("Priority") or 0,
                "NetworkID": n["Id"], "EndpointID": e["EndpointID"], "Gateway": e["Gateway"],
                "IPAddress": e["IPAddress"], "IPPrefixLen": e["IPPrefixLen"], "IPv6Gateway": e.get("IPv6Gateway", ""),
                "GlobalIPv6Address": e.get("GlobalIPv6Address", ""),
                "GlobalIPv6PrefixLen": e.get("GlobalIPv6PrefixLen", 0),
                "DNSNames": self._dns_names(ep, e, n) if n["Name"] != "bridge" else None,
            }
        mode = ep["Mode"]
        if mode in ("host", "none"):
            n = by_name.get(mode) or {"Id": ""}
            out_nets[mode] = {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "",
                              "DriverOpts": None, "GwPriority": 0, "NetworkID": n["Id"], "EndpointID": "",
                              "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                              "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}
        default = out_nets.get("bridge") or {}
        active = bool(ep.get("Active"))
        return {
            "Bridge": "", "SandboxID": "", "SandboxKey": f"/proc/{ep['Pid']}/ns/net" if ep.get("Pid") else "",
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports.to_docker([ports.Mapping(**m) for m in ep.get("Ports") or []], ep.get("ExposedPorts"))
            if active else {},
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": default.get("EndpointID", ""), "Gateway": default.get("Gateway", ""),
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": default.get("IPAddress", ""),
            "IPPrefixLen": default.get("IPPrefixLen", 0), "IPv6Gateway": "", "MacAddress": default.get("MacAddress", ""),
            "Networks": out_nets,
        }

    @staticmethod
    def _dns_names(ep: dict, e: dict, net: dict) -> list[str]:
        out = []
        for n in [ep["Name"], *e["Aliases"], ep["Id"][:12], ep["Hostname"]]:
            if n and n not in out:
                out.append(n)
        return out

    def published(self, rec: dict) -> list[ports.Mapping]:
        ep = self.store.endpoint(R.cid(rec)) or {}
        return [ports.Mapping(**m) for m in ep.get("Ports") or []] if ep.get("Active") else []

    def reconcile(self, live_container_ids) -> list[str]:
        """Release everything held for containers that are not running any more (SIGKILL, dead
        supervisor), forget containers whose directory is gone, and re-render the rules."""
        live = set(live_container_ids)
        released = []
        with self.store.lock():
            for ep in self.store.endpoints():
                gone = not (self.root.path / "containers" / ep["Id"]).exists()
                if ep["Id"] not in live and _running_build_step(self.root, ep):
                    continue  # a build step (engine.build.runner) holds it while its process runs
                if ep["Id"] not in live and (ep.get("Active") or ep.get("Ports")
                                             or any(e["IPAddress"] for e in ep["Networks"])):
                    self._release(ep)
                    self.store.save_endpoint(ep)
                    released.append(ep["Id"])
                if gone and ep["Id"] not in live:
                    self.store.delete_endpoint(ep["Id"])
            self._gc_bridges()
            self._apply_rules(force=True)
            self.store.bump()
        if self.dns is not None:
            for cid in released:
                self.dns.remove_container(cid)
        return released
