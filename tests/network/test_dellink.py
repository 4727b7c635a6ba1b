"""dellink.delete_link: one raw RTM_DELLINK by name removes a bridge or a veth (peer included),
says whether the link was there, and refuses nothing for a name no link can have; delete_links
removes many in one batch (a link group) and leaves every other link alone."""
from __future__ import annotations

import errno
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


def test_delete_links_removes_many_veths_in_one_batch_and_nothing_else():
    """delete_links: every named veth (and its peer) gone, a link it was not given left alone,
    a name with no link reported as ENODEV."""
    tag = secrets.token_hex(3)
    names = [f"pcvb{tag}{i:02d}" for i in range(12)]
    keep, keep_peer = f"pcvk{tag}", f"pcvj{tag}"
    try:
        for i, name in enumerate(names):
            subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"pcvp{tag}{i:02d}"],
                           check=True)
        subprocess.run(["ip", "link", "add", keep, "type", "veth", "peer", "name", keep_peer], check=True)
        missing = f"pcvm{tag}"
        failed = dellink.delete_links(names + [missing])
        assert failed == {missing: errno.ENODEV}
        assert [n for n in names if _exists(n)] == []
        assert [i for i in range(12) if _exists(f"pcvp{tag}{i:02d}")] == []
        assert _exists(keep) and _exists(keep_peer)
        assert open(f"/sys/class/net/{keep}/netdev_group").read().strip() == "0"
    finally:
        for name in names + [keep]:
            if _exists(name):
                subprocess.run(["ip", "link", "del", name], check=False)


def test_delete_links_of_nothing_sends_nothing():
    assert dellink.delete_links([]) == {}
    assert dellink.delete_links(["", "x" * 16]) == {}
