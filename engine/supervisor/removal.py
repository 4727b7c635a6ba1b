"""``remove_many``: stop and remove many containers in one request (``down``), and ``--rm``.

Why one request: one stop request per container made ``down`` wait on N round trips, and each
exit waited on its own network teardown in the worker (a veth deleted, bridges swept, rules
re-rendered, one after the other). Here the containers are stopped wave by wave (the caller's
order: dependents first), each exit handled as usual but without its network and its record
removed at once (while others still stop), and once all are down the worker releases every
endpoint in one batch (engine.network.teardown ``release_many``: one lock, one netlink batch for
the veths and idle bridges, overlapping the rules' re-render). The reply
is a stream, one line per step of each container, so the caller shows progress as it happens;
a container that cannot be found or removed is reported on its line and the others go on.
``RemovalMixin`` is a base of ``Supervisor`` (engine.supervisor.daemon).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engine.errors import Conflict, EngineError, InvalidArgument
from engine.supervisor import protocol
from engine.supervisor.box import Box
from engine.supervisor.events import container_event
from engine.supervisor.phases import Phases


DELETERS = 8  # directories deleted at once: each waits on the disk's metadata writes, not on a core


class Batch:
    """One ``remove_many`` in progress: the waves still to stop and the containers awaited."""

    __slots__ = ("conn", "waves", "waiting", "boxes", "volumes", "phases", "removed", "pool", "deleting")

    def __init__(self, conn: socket.socket, waves: list[list[tuple[Box, Any, Any]]], volumes: bool):
        self.conn, self.waves, self.volumes = conn, waves, volumes
        self.waiting: set[str] = set()
        self.boxes = [box for wave in waves for box, _, _ in wave]
        self.phases = Phases()
        self.removed = 0
        self.pool: ThreadPoolExecutor | None = None  # the directories' deletion (disk latency, not CPU)
        self.deleting: list[str] = []


def parse_waves(req: dict) -> list[list[dict]]:
    """The request's ``waves``: lists of {"id", "timeout"?, "signal"?}; anything else refused."""
    waves = req.get("waves")
    if not isinstance(waves, list) or not all(isinstance(w, list) for w in waves):
        raise InvalidArgument("invalid supervisor request: 'waves' must be a list of lists")
    for wave in waves:
        for item in wave:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise InvalidArgument("invalid supervisor request: each container of 'waves' needs an 'id'")
            protocol.check_request(dict(item, op="stop"))
    return waves


class RemovalMixin:
    """``op_remove_many``; ``_remove_box`` (also what ``--rm`` does after an exit)."""

    def op_remove_many(self, conn, req):
        waves = parse_waves(req)
        if self.shutting_down:
            raise Conflict("the supervisor is shutting down")
        if not self._send(conn, {"ok": True}):
            conn = None  # the caller left: the containers are removed all the same
        resolved: list[list[tuple[Box, Any, Any]]] = []
        seen: set[str] = set()
        for wave in waves:
            resolved.append([])
            for item in wave:
                try:
                    box = self._box(item["id"])
                except EngineError as e:
                    self._progress(conn, item["id"], "error", error=str(e), kind=type(e).__name__)
                    continue
                if box.cid not in seen and not self._tearing_down(box):
                    seen.add(box.cid)
                    resolved[-1].append((box, item.get("timeout"), item.get("signal")))
        batch = Batch(conn, resolved, bool(req.get("volumes")))
        self.batches.append(batch)
        if self.netw.sock is None and self._endpoints_held([b.cid for b in batch.boxes]):
            self._net_submit("ready")  # the worker forks and imports while the containers stop
        self._next_wave(batch)
        return None

    def _progress(self, conn, cid: str, event: str, **extra) -> None:
        if conn is not None:
            self._send(conn, {"id": cid, "event": event, **extra})

    def _tearing_down(self, box: Box) -> Batch | None:
        """The batch removing ``box``, if one is: its exit leaves the network to that batch."""
        for batch in self.batches:
            if box in batch.boxes:
                return batch
        return None

    def _next_wave(self, batch: Batch) -> None:
        """Stop the next wave (one that is not running is removed at once, the others as they
        exit); once every wave is down, release their network in one batch."""
        while batch.waves and not batch.waiting:
            for box, timeout, sig in batch.waves.pop(0):
                self._cancel_restart(box)
                box.manual_stop = True
                if box.running:
                    batch.waiting.add(box.cid)
                    self._progress(batch.conn, box.cid, "stopping")
                    self._stop(box, timeout, sig)
                    continue
                if self._state(box).get("Restarting") or self._state(box).get("Running"):
                    self._set_state(box, Running=False, Restarting=False, Status="exited")
                self._remove_reported(batch, box)
        if not batch.waiting:
            batch.phases.mark("stopped+removed")
            self._finish_batch(batch)

    def _teardown_exited(self, box: Box) -> None:
        """Called at the end of ``_on_exit``: one more of a batch's wave is down, and removed now
        (like Compose, which removes each container once it stopped), while others still stop."""
        batch = self._tearing_down(box)
        if batch is None or box.cid not in batch.waiting:
            return
        batch.waiting.discard(box.cid)
        self._progress(batch.conn, box.cid, "stopped")
        self._remove_reported(batch, box)
        self._next_wave(batch)

    def _finish_batch(self, batch: Batch) -> None:
        """All down and removed: the worker releases every endpoint in one request; the reply
        ("done") waits for it."""
        error = ""
        try:
            pending = self._release_networks([b.cid for b in batch.boxes])
        except Exception as e:  # noqa: BLE001 - said in the reply: endpoints may still be held
            pending, error = None, f"releasing the network of the containers: {e}"
        self._wait_deleted(batch)
        timings: dict = {}
        if pending is not None:
            try:
                timings = pending.result() or {}
            except Exception as e:  # noqa: BLE001
                error = f"releasing the network of the containers: {e}"
        batch.phases.mark("network")
        with contextlib.suppress(ValueError):
            self.batches.remove(batch)
        if batch.conn is not None:
            self._reply(batch.conn, {"ok": True, "done": True, "removed": batch.removed, "error": error})
        batch.phases.report(f"remove_many {len(batch.boxes)}" + "".join(
            f" net-{k}={v}" for k, v in timings.items()))
        self._maybe_finish_shutdown()

    def _wait_deleted(self, batch: Batch) -> None:
        """The directories the pool deleted: gone, or reported (the record is unlisted already)."""
        if batch.pool is None:
            return
        batch.pool.shutdown(wait=True)
        batch.pool = None
        for cid in batch.deleting:
            if self.store.dir(cid).exists():
                batch.removed -= 1
                self._progress(batch.conn, cid, "error", kind="EngineError",
                               error=f"removing {cid[:12]}: the directory of container {cid} could not be removed")

    def _remove_reported(self, batch: Batch, box: Box) -> None:
        """Removed now that it is down. Its name leaves the DNS first: the DNS socket was the
        last hold on its network namespace, so the kernel starts tearing that down (veths
        included) while the others still stop."""
        if self.dns is not None:
            with contextlib.suppress(Exception):
                self.dns.remove_container(box.cid)
        self._progress(batch.conn, box.cid, "removing")
        try:
            if batch.pool is None:
                batch.pool = ThreadPoolExecutor(DELETERS, thread_name_prefix="pycompose-rm")
            self._remove_box(box, volumes=batch.volumes, network=False, pool=batch.pool)
            batch.deleting.append(box.cid)
        except Exception as e:  # noqa: BLE001 - reported on its line; the others still go
            self._progress(batch.conn, box.cid, "error", error=f"removing {box.cid[:12]}: {e}",
                           kind=type(e).__name__ if isinstance(e, EngineError) else "EngineError")
            return
        batch.removed += 1
        self._progress(batch.conn, box.cid, "removed")

    def _endpoints_held(self, cids: list[str]) -> list[str]:
        ep_dir = self.root.path / "networks" / "endpoints"
        return [c for c in cids if (ep_dir / f"{c}.json").exists()]

    def _release_networks(self, cids: list[str]):
        """Every endpoint the containers hold, released and forgotten by one worker request sent
        now (its Pending; None when no endpoint record exists: no worker for containers that
        never had one)."""
        held = self._endpoints_held(cids)
        return self._net_submit("release_many", ids=held, forget=True) if held else None

    def _remove_box(self, box: Box, volumes: bool = True, network: bool = True,
                    pool: ThreadPoolExecutor | None = None) -> None:
        """The container's record, logs and upper dir gone (``network``: its endpoint forgotten
        first; ``volumes``: its anonymous volumes too, like ``docker rm -v``); ``destroy`` out and
        ``wait removed`` answered. With ``pool`` the record is unlisted here and its directory
        deleted by the pool (``_finish_batch`` waits for it and checks)."""
        rec = box.rec or self.store.get(box.cid)
        anon: list[str] = []
        if volumes:
            with contextlib.suppress(Exception):
                from engine import containerview as view
                from engine.images import ImageStore

                anon = view.anonymous_volumes(rec, ImageStore(self.root).get(rec["Image"]).config)
        if network:
            with contextlib.suppress(Exception):
                self._net("forget", record=rec)
        code = int(self._state(box).get("ExitCode") or box.exit_code or 0)
        if pool is None:
            self.store.delete(box.cid)
            if self.store.dir(box.cid).exists():
                raise EngineError(f"the directory of container {box.cid} could not be removed")
        else:
            with self.root.lock(f"c-{box.cid[:16]}"):  # ContainerStore.delete's lock and first step
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.store.dir(box.cid) / "config.json")  # no listing shows it from now
            pool.submit(shutil.rmtree, self.store.dir(box.cid), True)
        self.boxes.pop(box.cid, None)
        if anon:
            from engine.volumes import VolumeStore

            vols = VolumeStore(self.root)
            for name in anon:
                with contextlib.suppress(Exception):
                    vols.remove(name, force=False, in_use=self._volume_users)
        self._publish(container_event("destroy", rec))
        for conn, cond in box.waiters:
            self._reply(conn, {"ok": True, "StatusCode": code})
        box.waiters = []

    def _volume_users(self, name: str) -> list[str]:
        """Containers (any state) that mount volume ``name``: a shared one stays."""
        from engine import containerview as view

        return [r["Id"] for r in self.store.records() if name in view.volume_names(r, r.get("Config") or {})]
