"""links.delete_link/link_exists look the name up with one ioctl before opening netlink: a missing
link is a no-op, an existing one is really removed (veth peer included)."""
from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from engine.network import links

pytestmark = pytest.mark.root


def _exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def test_missing_link_is_not_there_and_deleting_it_does_nothing():
    name = "pcvt" + secrets.token_hex(4)
    assert not links.link_exists(name)
    links.delete_link(name)  # no error, nothing created
    assert not _exists(name)
    assert not links.link_exists("x" * 40)  # longer than any link name can be
    assert links.link_exists("lo")


def test_existing_veth_is_deleted_with_its_peer():
    name, peer = "pcvt" + secrets.token_hex(4), "pcvp" + secrets.token_hex(4)
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    try:
        assert links.link_exists(name) and links.link_exists(peer)
        links.delete_link(name)
        assert not _exists(name) and not _exists(peer)
        assert not links.link_exists(name)
    finally:
        if _exists(name):
            subprocess.run(["ip", "link", "del", name], check=False)
