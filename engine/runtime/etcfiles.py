"""The container's directory on the host and its /etc/hostname, hosts, resolv.conf.

Why files on the host: Docker bind-mounts these three from the container's
directory so they can be rewritten while the container runs (networking
updates hosts and resolv.conf); they survive restarts. Networking writes the
content it owns before start; we write sane defaults only when none exists.
"""
from __future__ import annotations

import os
from pathlib import Path

from engine.network.hostfiles import HOSTS_HEADER
from engine.runtime.spec import HOST, ContainerSpec

DEFAULT_HOSTS = HOSTS_HEADER  # the network's /etc/hosts head, for containers without one of its own
FALLBACK_NAMESERVERS = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"  # Docker's defaults


def default_etc_files(container_dir: Path) -> dict[str, Path]:
    return {"/etc/hostname": container_dir / "hostname", "/etc/hosts": container_dir / "hosts",
            "/etc/resolv.conf": container_dir / "resolv.conf"}


def host_resolv_conf(path: str = "/etc/resolv.conf", keep_localhost: bool = False) -> str:
    """The host's resolv.conf without loopback name servers a container cannot reach."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    out, servers = [], 0
    for line in lines:
        parts = line.split()
        if parts[:1] == ["nameserver"] and len(parts) > 1:
            if not keep_localhost and (parts[1].startswith("127.") or parts[1] == "::1"):
                continue
            servers += 1
        out.append(line)
    text = "\n".join(out).strip() + "\n" if out else ""
    if not servers:
        text += FALLBACK_NAMESERVERS
    return text.lstrip("\n")


def hosts_content(hostname: str, net_host: bool) -> str:
    if net_host:
        try:
            with open("/etc/hosts") as f:
                return f.read()
        except OSError:
            pass
    return DEFAULT_HOSTS


def write_default(path: Path, text: str) -> None:
    """Write a default /etc file: a complete temporary file renamed into place, without fsync.

    Why no fsync (2-5 ms each, on the start path): a default is only written when the file is
    missing, and it is a pure function of the record, so a file a machine crash loses is
    simply written again by the next start; the rename keeps readers from seeing half of it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # readable by the container's users whatever our umask
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def prepare_dirs(spec: ContainerSpec) -> None:
    """Upper/work/merged dirs and default /etc files, created when missing."""
    for d in (spec.upper, spec.work, spec.merged):
        d.mkdir(parents=True, exist_ok=True)
    net_host = spec.namespaces.net == HOST
    defaults = {
        "/etc/hostname": lambda: (spec.hostname or "localhost") + "\n",
        "/etc/hosts": lambda: hosts_content(spec.hostname, net_host),
        "/etc/resolv.conf": lambda: host_resolv_conf(keep_localhost=net_host),
    }
    for target, path in spec.etc_files.items():
        if target in defaults and not os.path.exists(path):
            write_default(path, defaults[target]())
