"""Registry host names with Docker's defaults.

``docker.io`` is the name users see; its API lives at ``registry-1.docker.io`` and its
credentials are filed in config.json under ``https://index.docker.io/v1/``.
Everything else is addressed as written (``host[:port]``).
"""
from __future__ import annotations

import ipaddress

from engine.images import reference

DOCKER_HUB = reference.DEFAULT_DOMAIN
HUB_API_HOST = "registry-1.docker.io"
HUB_CONFIG_KEY = "https://index.docker.io/v1/"
HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


def server_host(server: str | None) -> str:
    """The registry a ``login``/``logout`` argument names: ``https://host:5000/v2/`` -> ``host:5000``."""
    if not server:
        return DOCKER_HUB
    s = server.strip()
    for scheme in ("https://", "http://"):
        if s.lower().startswith(scheme):
            s = s[len(scheme):]
    s = s.split("/", 1)[0].lower()
    return DOCKER_HUB if s in HUB_ALIASES else s


def api_host(domain: str) -> str:
    """Where the registry API of ``domain`` is served."""
    return HUB_API_HOST if domain == DOCKER_HUB else domain


def config_key(domain: str) -> str:
    """The key Docker files credentials of ``domain`` under in config.json."""
    return HUB_CONFIG_KEY if domain == DOCKER_HUB else domain


def hostname(host: str) -> str:
    """``host:port`` -> ``host``; ``[::1]:5000`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (Docker trusts them over plain HTTP)."""
    name = hostname(host).lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
