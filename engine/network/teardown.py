"""Many containers' endpoints released at once (``down``), for the supervisor's ``remove_many``.

Why apart from ``detach``: detaching one container at a time takes the network lock, deletes
one veth (each deletion waits an RCU grace period in the kernel), sweeps the bridges and
re-renders the rules, once per container. Here it is one lock, every host veth and every bridge
left idle deleted in one kernel batch (engine.network.dellink.delete_links) while the rules are
re-rendered, and the generation bumped once.
"""
from __future__ import annotations

import threading
import time

from engine.network import dellink
from engine.network import links as mgr_links
from engine.network.netconf import PRIVATE


def release_many(mgr, cids: list[str], forget: bool = False) -> dict[str, float]:
    """``detach`` (``forget``: and drop the membership) of the containers ``cids`` through
    NetworkManager ``mgr``. The kernel work overlaps: the veths and the bridges left without an
    endpoint go in one netlink batch in a thread while the nft rules are re-rendered here (each
    waits its own RCU grace period). Returns the milliseconds each step took (bench/down_profile.py)."""
    marks = [time.perf_counter()]
    with mgr.store.lock():
        eps = [ep for ep in (mgr.store.endpoint(c) for c in dict.fromkeys(cids)) if ep is not None]
        links = [e["HostVeth"] for ep in eps for e in ep["Networks"] if e.get("HostVeth")]
        for ep in eps:
            mgr._release(ep, unlinked=True)  # the veths go in the batch below
            if forget:
                mgr.store.delete_endpoint(ep["Id"])
            else:
                mgr.store.save_endpoint(ep)
        marks.append(time.perf_counter())
        links += _idle_bridges(mgr.store)
        failed: list[BaseException] = []
        unlinking = threading.Thread(target=_delete, args=(links, failed), name="release-links")
        if links:  # a refused one is left to the next sweep (reconcile), as detach does
            unlinking.start()
        mgr._apply_rules()
        marks.append(time.perf_counter())
        if links:
            unlinking.join()
        if failed:  # the batch itself failed (not one link): each link the slow way, as detach does
            for name in links:
                mgr_links.delete_link(name)
        marks.append(time.perf_counter())
        mgr.store.bump()
    if mgr.dns is not None:
        for ep in eps:
            mgr.dns.remove_container(ep["Id"])
    steps = ("records", "rules", "links")
    return {k: round((marks[i + 1] - marks[i]) * 1000, 2) for i, k in enumerate(steps)}


def _delete(links: list[str], failed: list[BaseException]) -> None:
    try:
        dellink.delete_links(links)
    except OSError as e:
        failed.append(e)


def _idle_bridges(store) -> list[str]:
    """Bridges of the networks no active endpoint uses any more: they go with the veths."""
    used = {e["NetworkID"] for ep in store.endpoints() if ep.get("Active") for e in ep["Networks"]}
    return [br for n in store.networks() if n["Id"] not in used and (br := (n.get(PRIVATE) or {}).get("bridge"))]
