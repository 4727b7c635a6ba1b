"""The supervisor's writes of ``state.json``: atomic, but not fsync'd.

Why not ``ContainerStore.update_state``: that one fsyncs every write (~2-9 ms
each here), and the supervisor writes the state twice per container run, on
the start path that a client waits for. What a crash can lose is only the
state the supervisor is about to rebuild anyway: after a reboot no container
runs and the next daemon's ``reconcile`` marks every record as it really is;
after a daemon crash it re-adopts or marks them from what runs. The write is
still a rename of a complete temporary file (readers never see half a
document; ext4 flushes a file renamed over another before the rename
commits), under the same per-container lock ``ContainerStore`` takes.
"""
from __future__ import annotations

import json
import os
from typing import Any

from engine.containers import ContainerStore
from engine.state import atomic_write


def update_state(store: ContainerStore, cid: str, **fields: Any) -> dict:
    """Merge ``fields`` into the container's state; returns the new state (NotFound if it is gone)."""
    with store.root.lock(f"c-{cid[:16]}"):  # the lock name ContainerStore.update_state uses
        st = store.state(cid)
        st.update(fields)
        replace(store.dir(cid) / "state.json", (json.dumps(st, indent=2) + "\n").encode())
        return st


def replace(path: os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path`` (no fsync)."""
    atomic_write(path, data, mode, sync=False)
