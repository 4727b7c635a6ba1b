"""The per-container half of the network manager: each container's endpoints (membership of its
networks), and the hooks the supervisor calls around its start and stop.

``prepare(record)`` (addresses leased, published ports checked, hosts/resolv.conf written) ->
``attach(record, pid)`` (veths into the container's netns, routes, port rules, DNS) ->
``detach(record)`` (undo all of it); ``connect``/``disconnect`` change a container's networks,
a running container's at once; ``reconcile`` releases what dead containers still hold.
``Endpoints`` is a base of ``NetworkManager`` (manager.py), which owns the networks themselves,
their bridges and the nft rules these methods re-render.
"""
from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Conflict, EngineError, InvalidArgument, NotFound
from engine.network import hostfiles, ipam, links, names, ports
from engine.network import record as R
from engine.network.netconf import HOST_BINDING_OPT, MTU_OPT, PRIVATE, iface_name, v4conf, v6conf
from engine.state import DataRoot

__all__ = ["Endpoints", "NetPrepared"]


@dataclass
class NetPrepared:
    """What the runtime needs before it starts the container."""

    mode: str                 # "bridge" (own netns with our veths), "none", "host", "container:<id>"
    hosts_path: str
    resolv_conf_path: str
    hosts: str
    resolv_conf: str
    hostname: str



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


class Endpoints:
    """Container endpoints; mixed into ``NetworkManager`` (``self.store``, ``self.root``, ``self.dns``,
    ``self._find``, ``self._apply_rules``, ``self._gc_bridges`` come from there)."""

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
        conf, conf6 = v4conf(net), v6conf(net)
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
                    self._plug(ep, e, nets[e["NetworkID"]], pid, iface_name(nets[e["NetworkID"]], i), gw)
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
        conf, conf6 = v4conf(net), v6conf(net)
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

    def _release(self, ep: dict, unlinked: bool = False) -> None:
        for e in ep["Networks"]:
            if e.get("HostVeth") and not unlinked:
                links.delete_link(e["HostVeth"])
            e.update(IPAddress="", IPPrefixLen=0, Gateway="", Mac="", EndpointID="", Interface="", HostVeth="",
                     GlobalIPv6Address="", GlobalIPv6PrefixLen=0, IPv6Gateway="")
        ep["Ports"], ep["Active"], ep["Pid"] = [], False, None


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
                ifname = next(iface_name(net, i) for i in range(64) if iface_name(net, i) not in used)
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
