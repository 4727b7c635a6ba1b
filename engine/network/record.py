"""Read what the network needs from a Docker-shaped container record, tolerating the
variants the container API may store (``Name`` with or without the leading slash,
empty sections), so the rest of engine/network never pokes at raw dicts.
"""
from __future__ import annotations

PREDEFINED = ("bridge", "host", "none")


def cid(rec: dict) -> str:
    return rec.get("Id") or rec.get("ID") or ""


def name(rec: dict) -> str:
    return (rec.get("Name") or "").lstrip("/") or cid(rec)[:12]


def config(rec: dict) -> dict:
    return rec.get("Config") or {}


def host_config(rec: dict) -> dict:
    return rec.get("HostConfig") or {}


def hostname(rec: dict) -> str:
    return config(rec).get("Hostname") or cid(rec)[:12]


def domainname(rec: dict) -> str:
    return config(rec).get("Domainname") or ""


def exposed_ports(rec: dict) -> dict:
    return config(rec).get("ExposedPorts") or {}


def network_mode(rec: dict) -> str:
    """``default``/``bridge`` -> ``bridge``; else host, none, container:<id> or a network name."""
    mode = host_config(rec).get("NetworkMode") or "default"
    return "bridge" if mode == "default" else mode


def endpoints_config(rec: dict) -> dict:
    return ((rec.get("NetworkingConfig") or {}).get("EndpointsConfig")) or {}


def pid(rec: dict) -> int | None:
    st = rec.get("State") or {}
    p = st.get("Pid")
    return int(p) if p and st.get("Running", True) else None


def links(rec: dict) -> list[tuple[str, str]]:
    """Legacy links ``name:alias`` (or Docker's stored ``/name:/me/alias``) -> (name, alias)."""
    out = []
    for link in host_config(rec).get("Links") or []:
        target, _, alias = link.partition(":")
        target = target.lstrip("/")
        alias = alias.rsplit("/", 1)[-1] if alias else target
        out.append((target, alias))
    return out
