"""Container starts of many services sent to the engine in batches: one request per batch.

Why: ``up`` runs one task per service, and services whose dependencies are met at the same moment
(every one of N independent services) would each cost a request to the engine's supervisor, a
worker thread and a record read. Here a start asked for while a batch is in flight waits for the
next one, which takes everything asked for meanwhile: no delay is added to a lone start (the
dependent of a chain starts at once) and N ready services cost a handful of requests. Each
container's progress (Starting, Started) and error stay its own; the engine starts the others
of a batch when one fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import anyio
import anyio.abc
import anyio.to_thread

Event = Callable[[str, str], None]  # (container name, status)


@dataclass
class _Ask:
    cid: str
    name: str
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


class StartBatcher:
    """``await start([(id, name), ...])`` returns once those containers run, raising the first
    one's error when one did not start. ``tg``: the task group the sender runs in."""

    def __init__(self, engine: Any, tg: anyio.abc.TaskGroup, event: Event):
        self.engine, self.tg, self.event = engine, tg, event
        self.queue: list[_Ask] = []
        self.sending = False

    async def start(self, containers: list[tuple[str, str]]) -> None:
        asks = [_Ask(cid, name) for cid, name in containers]
        if not asks:
            return
        self.queue += asks
        if not self.sending:
            self.sending = True
            self.tg.start_soon(self._send_all)
        for ask in asks:
            await ask.done.wait()
        for ask in asks:
            if ask.error is not None:
                raise ask.error

    async def _send_all(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                await self._send(batch)
        finally:
            self.sending = False

    async def _send(self, batch: list[_Ask]) -> None:
        for ask in batch:
            self.event(ask.name, "Starting")
        try:
            failed = await anyio.to_thread.run_sync(self.engine.containers.start_many, [a.cid for a in batch])
        except Exception as e:  # noqa: BLE001 - the engine could not be asked: every start failed
            failed = {a.cid: e for a in batch}
        for ask in batch:
            ask.error = failed.get(ask.cid)
            if ask.error is None:
                self.event(ask.name, "Started")
            ask.done.set()
