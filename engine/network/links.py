"""Kernel side of bridge networks, in-process through netlink (pyroute2): bridges, veth pairs,
addresses, routes, and the few sysctls they need. Every function here has its undo here too.
"""
from __future__ import annotations

import contextlib
import errno
import socket
from typing import TYPE_CHECKING

from engine.errors import Conflict, SystemError_
from engine.network.netns import run_in_netns

if TYPE_CHECKING:
    from pyroute2 import IPRoute

NETLINK_ROUTE = 0


def _pyroute2():
    """(IPRoute, NetlinkError), imported on first use: pyroute2 takes ~0.1-0.5 s to import, and
    the manager (hence this module) is loaded by commands that only read network state
    (``ps``, ``container ls/inspect``, ``network ls``) and never talk netlink."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    return IPRoute, NetlinkError


def _sysctl(path: str, value: str) -> None:
    try:
        with open(path) as f:
            if f.read().strip() == value:
                return
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise SystemError_(f"cannot set {path} to {value}: {e.strerror}") from None


def enable_forwarding(ipv6: bool = False) -> None:
    """Containers on non-internal networks reach out through the host (Docker does the same)."""
    _sysctl("/proc/sys/net/ipv4/ip_forward", "1")
    if ipv6:
        _sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")


IFA_F_NODAD = 0x02  # no duplicate address detection: the address is usable at once, and we own the subnet


def _add_addr(ipr, idx: int, address: str, prefixlen: int, where: str) -> None:
    _, NetlinkError = _pyroute2()
    kw = {"flags": IFA_F_NODAD} if ":" in address else {}
    try:
        ipr.addr("add", index=idx, address=address, prefixlen=prefixlen, **kw)
    except NetlinkError as e:
        if e.code != errno.EEXIST:
            raise SystemError_(f"cannot add {address}/{prefixlen} to {where}: {e}") from None


def host_routes() -> list[str]:
    """Destinations routed on the host (main table, default route left out), to keep new
    networks off them. Read from /proc/net/route (this netns's main IPv4 table), not netlink:
    ``network create`` (each ``up``) would otherwise import pyroute2 for it."""
    import struct

    out = []
    with open("/proc/net/route") as f:
        next(f, None)  # the header
        for line in f:
            cols = line.split()
            if len(cols) < 8:
                continue
            dst, mask = (struct.pack("<I", int(c, 16)) for c in (cols[1], cols[7]))
            prefix = bin(int.from_bytes(mask, "big")).count("1")
            if prefix:  # 0: the default route
                out.append(f"{socket.inet_ntoa(dst)}/{prefix}")
    return out


def _ifindex(name: str) -> int | None:
    """The index of link ``name`` in our network namespace, or None.

    Why not netlink: opening an IPRoute costs ~25 ms here (socket, bind, pyroute2's set-up),
    and attach/detach ask about links that mostly do not exist (a crash's leftover veth);
    if_nametoindex is one ioctl."""
    try:
        return socket.if_nametoindex(name)
    except (OSError, ValueError):  # ENODEV; a name too long for a link cannot exist either
        return None


def link_exists(name: str) -> bool:
    return _ifindex(name) is not None


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int | None,
                  gateway6: str | None = None, prefixlen6: int = 64) -> None:
    """The network's bridge, up, with the gateway address(es) (created when missing)."""
    IPRoute, NetlinkError = _pyroute2()
    with IPRoute() as ipr:
        idx = ipr.link_lookup(ifname=name)
        if not idx:
            kw = {"mtu": mtu} if mtu else {}
            try:
                ipr.link("add", ifname=name, kind="bridge", **kw)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise SystemError_(f"cannot create bridge {name}: {e}") from None
            idx = ipr.link_lookup(ifname=name)
        idx = idx[0]
        have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx, family=socket.AF_INET)}
        if (gateway, prefixlen) not in have:
            _add_addr(ipr, idx, gateway, prefixlen, name)
        if gateway6:
            _sysctl(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "0")
            _add_addr(ipr, idx, gateway6, prefixlen6, name)
        ipr.link("set", index=idx, state="up")
    # 127.0.0.1:port published -> DNAT to the container needs loopback sources routable here.
    _sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")


def delete_link(name: str) -> None:
    """Remove a link if it exists (a veth's removal takes its peer too): one raw RTM_DELLINK by
    name (engine.network.dellink), so teardown never waits on pyroute2's import or an IPRoute."""
    from engine.network import dellink

    if _ifindex(name) is None:
        return
    with contextlib.suppress(OSError):  # as before: a refusal leaves the link to the next sweep
        dellink.delete_link(name)


def list_links(prefix: str) -> list[str]:
    IPRoute, _ = _pyroute2()
    with IPRoute() as ipr:
        return [l.get_attr("IFLA_IFNAME") for l in ipr.get_links()
                if (l.get_attr("IFLA_IFNAME") or "").startswith(prefix)]


def _ns_ipr(pid: int) -> IPRoute:
    """An IPRoute whose netlink socket lives in the namespace of ``pid``."""
    IPRoute, _ = _pyroute2()
    sock = run_in_netns(pid, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE))
    return IPRoute(use_socket=sock)


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_IFREQ_FLAGS = "16sh22x"  # struct ifreq: the name, then ifr_flags in the 24-byte union


def loopback_up(pid: int) -> None:
    """``lo`` up in the netns of ``pid``: two ioctls on a socket made there. Not pyroute2: every
    start does this, and a ``--network none`` container needs nothing else from netlink."""
    import fcntl
    import struct

    def up() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            got = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(_IFREQ_FLAGS, b"lo", 0))
            flags = struct.unpack(_IFREQ_FLAGS, got)[1]
            if not flags & IFF_UP:
                fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(_IFREQ_FLAGS, b"lo", flags | IFF_UP))

    run_in_netns(pid, up)


def add_endpoint(pid: int, host_if: str, bridge: str, ifname: str, address: str, prefixlen: int,
                 mac: str, mtu: int | None, gateway: str | None, address6: str | None = None,
                 prefixlen6: int = 64, gateway6: str | None = None) -> None:
    """A veth pair: ``host_if`` on the bridge, its peer created directly in the container as ``ifname``."""
    IPRoute, NetlinkError = _pyroute2()
    nsfd = open(f"/proc/{pid}/ns/net", "rb")
    try:
        with IPRoute() as ipr:
            peer = {"ifname": ifname, "net_ns_fd": nsfd.fileno(), "address": mac}
            kw = {}
            if mtu:
                peer["mtu"] = mtu
                kw["mtu"] = mtu
            try:
                ipr.link("add", ifname=host_if, kind="veth", peer=peer, **kw)
            except NetlinkError as e:
                if e.code == errno.EEXIST:
                    raise Conflict(f"interface {host_if} or {ifname} already exists") from None
                raise SystemError_(f"cannot create veth {host_if}/{ifname}: {e}") from None
            try:
                hidx = ipr.link_lookup(ifname=host_if)[0]
                bidx = ipr.link_lookup(ifname=bridge)[0]
                ipr.link("set", index=hidx, master=bidx, state="up")
            except (NetlinkError, IndexError) as e:
                delete_link(host_if)
                raise SystemError_(f"cannot put {host_if} on bridge {bridge}: {e}") from None
    finally:
        nsfd.close()
    try:
        with _ns_ipr(pid) as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            idx = ipr.link_lookup(ifname=ifname)[0]
            ipr.addr("add", index=idx, address=address, prefixlen=prefixlen)
            if address6:
                run_in_netns(pid, lambda: _sysctl(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6", "0"))
                _add_addr(ipr, idx, address6, prefixlen6, ifname)
            ipr.link("set", index=idx, state="up")
            if gateway:
                ipr.route("replace", dst="0.0.0.0/0", gateway=gateway, oif=idx)
            if gateway6:
                ipr.route("replace", dst="::/0", gateway=gateway6, oif=idx, family=socket.AF_INET6)
    except (NetlinkError, IndexError, SystemError_) as e:
        delete_link(host_if)
        raise SystemError_(f"cannot configure {ifname} in the container: {e}") from None


def set_default_route(pid: int, ifname: str, gateway: str) -> None:
    _, NetlinkError = _pyroute2()
    try:
        with _ns_ipr(pid) as ipr:
            idx = ipr.link_lookup(ifname=ifname)[0]
            ipr.route("replace", dst="0.0.0.0/0", gateway=gateway, oif=idx)
    except (NetlinkError, IndexError) as e:
        raise SystemError_(f"cannot route through {gateway} on {ifname} in the container: {e}") from None


def container_links(pid: int) -> list[str]:
    with _ns_ipr(pid) as ipr:
        return [l.get_attr("IFLA_IFNAME") for l in ipr.get_links()]
