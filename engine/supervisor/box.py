"""What the supervisor keeps per container (``Box``) and its timers; plain data, no behaviour."""
from __future__ import annotations

import socket
from typing import Callable

from engine.supervisor import health as hc
from engine.supervisor.logwriter import JsonFileWriter
from engine.supervisor.restart import RestartManager


class Timer:
    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], None]):
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Box:
    """What the daemon knows about one container across its runs."""

    def __init__(self, cid: str):
        self.cid = cid
        self.rec: dict = {}
        self.pid = 0
        self.pidfd = -1
        self.adopted = False
        self.started_mono = 0.0
        self.started_ns = 0
        self.outputs: dict[int, str] = {}        # fd -> stream name
        self.writer: JsonFileWriter | None = None
        self.cgroup = None
        self.manual_stop = False
        self.stopping_event = False               # emit "stop" after "die"
        self.restart: RestartManager | None = None
        self.restart_timer: Timer | None = None
        self.kill_timer: Timer | None = None
        self.stop_waiters: list[socket.socket] = []
        self.waiters: list[tuple[socket.socket, str]] = []
        self.after_exit: list[Callable[[], None]] = []
        self.health_cfg: hc.HealthConfig | None = None
        self.health: dict | None = None
        self.health_timer: Timer | None = None
        self.probe: dict | None = None
        self.paused = False
        self.exit_code = 0
        self.stdin_relay: dict | None = None      # StdinOnce: stdin.fifo -> pipe, closed when the client leaves
        self.keeper_pid = 0                       # Tty: the process parking the pty master (engine.supervisor.stdio)
        self.keeper_is_child = False
        self.unsaved: dict = {}                   # state fields a full disk kept from state.json (retried)
        self.unsaved_timer: Timer | None = None

    @property
    def running(self) -> bool:
        return self.pid > 0
