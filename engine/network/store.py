"""Network state on disk under ``$ROOT/networks`` (callers hold ``DataRoot.lock("network")``).

* ``<network id>.json``      the network (Docker NetworkInspect shape, without Containers)
* ``endpoints/<cid>.json``   one container: the networks it belongs to in interface order,
                             its leases (address, mac, veth), its published ports, Active/Pid
* ``generation``             bumped on every change the DNS server must see at once

Leases live only in the endpoint files, so releasing a container's addresses and ports is
deleting its entries: there is no second list that could disagree after a crash.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from engine.state import DataRoot, atomic_write, read_json, write_json


class Store:
    def __init__(self, root: DataRoot):
        self.root = root

    @property
    def dir(self) -> Path:
        return self.root.dir("networks")

    @property
    def ep_dir(self) -> Path:
        return self.root.dir("networks", "endpoints")

    def lock(self):
        return self.root.lock("network")

    # networks
    def networks(self) -> list[dict]:
        return _records(self.dir)

    def save_network(self, rec: dict) -> None:
        write_json(self.dir / f"{rec['Id']}.json", rec)

    def delete_network(self, net_id: str) -> None:
        _unlink(self.dir / f"{net_id}.json")

    # endpoints
    def endpoint(self, cid: str) -> dict | None:
        return read_json(self.ep_dir / f"{cid}.json")

    def endpoints(self) -> list[dict]:
        return _records(self.ep_dir)

    def save_endpoint(self, rec: dict) -> None:
        _replace(self.ep_dir / f"{rec['Id']}.json", json.dumps(rec, indent=1) + "\n")

    def delete_endpoint(self, cid: str) -> None:
        _unlink(self.ep_dir / f"{cid}.json")

    # change counter for the DNS server
    def bump(self) -> None:
        path = self.dir / "generation"
        try:
            n = int(path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            n = 0
        _replace(path, str(n + 1))

    def generation_path(self) -> Path:
        return self.dir / "generation"

    # the nft script last loaded by this root (to skip reloading an identical one)
    def applied_rules(self) -> str:
        try:
            return (self.dir / "nft.applied").read_text()
        except FileNotFoundError:
            return ""

    def set_applied_rules(self, script: str) -> None:
        _replace(self.dir / "nft.applied", script)


def _records(directory: Path) -> list[dict]:
    """Every record stored in ``directory`` (one JSON file each), in file name order; unreadable ones skipped."""
    return [rec for rec in (read_json(p) for p in sorted(directory.glob("*.json"))) if rec]


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _replace(path: Path, text: str) -> None:
    """Atomic replace without fsync: endpoint leases, the generation counter and the rule cache
    only have to survive a process crash (rename is atomic), and after a machine crash nothing
    is running, so ``reconcile`` releases them anyway. Saves ~6 ms per write on every start/stop."""
    atomic_write(path, text, sync=False)
