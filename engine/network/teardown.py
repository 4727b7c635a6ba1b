"""Many containers' endpoints released at once (``down``), for the supervisor's ``remove_many``.

Why apart from ``detach``: detaching one container at a time takes the network lock, deletes
one veth (each deletion waits an RCU grace period in the kernel), sweeps the bridges and
re-renders the rules, once per container. Here it is one lock, every host veth deleted in one
kernel batch (engine.network.dellink.delete_links), the bridges swept, the rules re-rendered
and the generation bumped once.
"""
from __future__ import annotations

import time

from engine.network import dellink


def release_many(mgr, cids: list[str], forget: bool = False) -> dict[str, float]:
    """``detach`` (``forget``: and drop the membership) of the containers ``cids`` through
    NetworkManager ``mgr``. Returns the milliseconds each step took (bench/down_profile.py)."""
    marks = [time.perf_counter()]
    with mgr.store.lock():
        eps = [ep for ep in (mgr.store.endpoint(c) for c in dict.fromkeys(cids)) if ep is not None]
        veths = [e["HostVeth"] for ep in eps for e in ep["Networks"] if e.get("HostVeth")]
        marks.append(time.perf_counter())
        if veths:  # a refused one is left to the next sweep (reconcile), as detach does
            dellink.delete_links(veths)
        marks.append(time.perf_counter())
        for ep in eps:
            mgr._release(ep, unlinked=True)
            if forget:
                mgr.store.delete_endpoint(ep["Id"])
            else:
                mgr.store.save_endpoint(ep)
        marks.append(time.perf_counter())
        mgr._gc_bridges()
        marks.append(time.perf_counter())
        mgr._apply_rules()
        mgr.store.bump()
        marks.append(time.perf_counter())
    if mgr.dns is not None:
        for ep in eps:
            mgr.dns.remove_container(ep["Id"])
    steps = ("read", "veths", "records", "bridges", "rules")
    return {k: round((marks[i + 1] - marks[i]) * 1000, 2) for i, k in enumerate(steps)}
