"""dellink.delete_link: one raw RTM_DELLINK by name removes a bridge or a veth (peer included),
says whether the link was there, and refuses nothing for a name no link can have."""
from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from engine.network import dellink

pytestmark = pytest.mark.root


def _exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def test_veth_is_deleted_with_its_peer_and_a_second_delete_finds_nothing():
    name, peer = "pcvd" + secrets.token_hex(4), "pcvq" + secrets.token_hex(4)
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    try:
        assert dellink.delete_link(name) is True
        assert not _exists(name) and not _exists(peer)
        assert dellink.delete_link(name) is False
    finally:
        if _exists(name):
            subprocess.run(["ip", "link", "del", name], check=False)


def test_bridge_is_deleted():
    name = "pc-t" + secrets.token_hex(4)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        assert dellink.delete_link(name) is True
        assert not _exists(name)
    finally:
        if _exists(name):
            subprocess.run(["ip", "link", "del", name], check=False)


def test_names_no_link_can_have_are_not_sent():
    assert dellink.delete_link("") is False
    assert dellink.delete_link("x" * 16) is False


def test_loopback_cannot_be_deleted_and_says_why():
    with pytest.raises(OSError):
        dellink.delete_link("lo")
    assert _exists("lo")
