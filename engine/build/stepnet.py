"""The network of one build step: ``default`` (the data root's bridge, with NAT), ``host`` or ``none``.

Why the default ``bridge`` network: it is the network Docker's own builder puts
``RUN`` steps on, it masquerades outbound traffic (so ``apt-get`` reaches its
mirror), and ``engine.network`` already owns its bridge, veths, addresses and
nft rules, with their undo. A step is an endpoint of it for its lifetime only:
``attach`` before the command runs, ``close`` releases the address, deletes the
veth, the bridge when nothing else uses it, and the step's endpoint record.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from engine.errors import InvalidArgument
from engine.network import hostfiles
from engine.runtime import etcfiles
from engine.runtime.spec import HOST, NEW
from engine.state import DataRoot

MODES = ("default", "host", "none")


class StepNetwork:
    """hosts/resolv.conf for the step, and its interfaces while it runs."""

    def __init__(self, root: DataRoot, step_id: str, mode: str, hostname: str, extra_hosts: list[str],
                 scratch: Path):
        mode = mode or "default"
        if mode == "bridge":
            mode = "default"
        if mode not in MODES:
            raise InvalidArgument(f"network mode {mode!r} not supported for a build step: default, host or none")
        self.root, self.id, self.mode, self.hostname = root, step_id, mode, hostname
        self.extra_hosts, self.scratch = list(extra_hosts or []), scratch
        self._mgr = None
        self._prepared = False

    @property
    def namespace(self) -> str:
        return HOST if self.mode == "host" else NEW

    def _record(self) -> dict:
        return {"Id": self.id, "Name": f"/buildstep-{self.id[:12]}", "Config": {"Hostname": self.hostname},
                "HostConfig": {"NetworkMode": "bridge", "ExtraHosts": self.extra_hosts}}

    def prepare(self) -> dict[str, Path]:
        """Write the step's /etc/hosts and /etc/resolv.conf; returns container path -> host file."""
        hosts, resolv = self.scratch / "hosts", self.scratch / "resolv.conf"
        if self.mode == "default":
            from engine.network import NetworkManager

            self._mgr = NetworkManager(self.root)
            self._prepared = True
            prep = self._mgr.prepare(self._record())
            shutil.copyfile(prep.hosts_path, hosts)
            shutil.copyfile(prep.resolv_conf_path, resolv)
        else:
            net_host = self.mode == "host"
            extra = [hostfiles.parse_extra_host(x, None) for x in self.extra_hosts]
            text = etcfiles.hosts_content(self.hostname, net_host)
            if not net_host:
                text += f"127.0.0.1\t{self.hostname}\n"
            text += "".join(f"{ip}\t{name}\n" for name, ip in extra)
            etcfiles.write_default(hosts, text)
            etcfiles.write_default(resolv, etcfiles.host_resolv_conf(keep_localhost=net_host))
        return {"/etc/hosts": hosts, "/etc/resolv.conf": resolv}

    def attach(self, pid: int) -> None:
        """Wire the waiting step process ``pid`` (runs before its command starts)."""
        if self.mode == "default":
            self._mgr.attach(self._record(), pid)
        elif self.mode == "none":
            from engine.network import links

            links.loopback_up(pid)

    def close(self) -> None:
        """Undo attach and prepare; safe after a failure anywhere, and twice."""
        if self._mgr is not None and self._prepared:
            self._prepared = False
            try:
                self._mgr.forget(self.id)
            finally:
                with contextlib.suppress(OSError):
                    shutil.rmtree(self.root.dir("containers", create=False) / self.id)
