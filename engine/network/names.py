"""Names of the kernel objects of a network (docs/ARCHITECTURE.md, "Naming of kernel objects").

Derived deterministically from ids so a crashed process can find and remove what it
made, and the leak check recognises them: bridges ``pc-<10 hex>``, host veth ends
``pcv<11 hex>`` (both within the kernel's 15-character limit).
"""
from __future__ import annotations

import hashlib
import secrets

NFT_TABLE = "pycompose"
NFT_FAMILY = "ip"
DNS_ADDRESS = "127.0.0.11"


def new_id() -> str:
    return secrets.token_hex(32)


def bridge_name(network_id: str) -> str:
    return "pc-" + hashlib.sha256(network_id.encode()).hexdigest()[:10]


def veth_name(network_id: str, container_id: str) -> str:
    return "pcv" + hashlib.sha256(f"{network_id}/{container_id}".encode()).hexdigest()[:11]


def endpoint_id(network_id: str, container_id: str) -> str:
    return hashlib.sha256(f"endpoint/{network_id}/{container_id}".encode()).hexdigest()
