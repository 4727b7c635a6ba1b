"""pycompose's own registry settings: ``$PYCOMPOSE_CONFIG`` or ``/etc/pycompose/config.json``.

    {"insecure-registries": ["myregistry:5000", "10.0.0.0/8"],
     "registry-mirrors": ["http://127.0.0.1:5001"]}

The keys mean what they mean in Docker's daemon.json: insecure registries may be reached
over plain HTTP (or HTTPS without verification); mirrors are tried first for docker.io
images. Loopback registries are always insecure-allowed, as in Docker.
"""
from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from engine.errors import InvalidArgument
from engine.registry import names

DEFAULT_PATH = "/etc/pycompose/config.json"


def config_path() -> Path:
    return Path(os.environ.get("PYCOMPOSE_CONFIG") or DEFAULT_PATH)


@dataclass(frozen=True)
class Mirror:
    scheme: str   # "http" or "https"
    host: str     # host[:port]


@dataclass(frozen=True)
class RegistrySettings:
    insecure: tuple[str, ...] = ()
    mirrors: tuple[Mirror, ...] = field(default_factory=tuple)

    def is_insecure(self, host: str) -> bool:
        """May ``host`` be reached over plain HTTP?"""
        if names.is_loopback(host):
            return True
        if host in self.insecure or names.hostname(host) in self.insecure:
            return True
        try:
            ip = ipaddress.ip_address(names.hostname(host))
        except ValueError:
            return False
        for entry in self.insecure:
            if "/" in entry:
                try:
                    if ip in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    continue
        return False


def _mirror(path: Path, value) -> Mirror:
    u = urlparse(value if isinstance(value, str) else "")
    if u.scheme not in ("http", "https") or not u.netloc or u.path not in ("", "/"):
        raise InvalidArgument(f"{path}: registry-mirrors: {value!r} is not a URL like https://mirror.example:5000")
    return Mirror(u.scheme, u.netloc.lower())


def load(path: Path | None = None) -> RegistrySettings:
    """The settings in force (defaults when the file does not exist)."""
    path = path or config_path()
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return RegistrySettings()
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"{path}: not a readable JSON file: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"{path}: expected a JSON object")
    insecure = doc.get("insecure-registries") or []
    mirrors = doc.get("registry-mirrors") or []
    if not isinstance(insecure, list) or not all(isinstance(x, str) for x in insecure):
        raise InvalidArgument(f"{path}: insecure-registries must be a list of host[:port] or CIDR strings")
    if not isinstance(mirrors, list):
        raise InvalidArgument(f"{path}: registry-mirrors must be a list of URLs")
    return RegistrySettings(tuple(x.strip().lower() for x in insecure), tuple(_mirror(path, m) for m in mirrors))
