"""Docker's JSON progress messages as the docker CLI shows them (``docker pull``/``docker push``).

The registry code reports progress as the dicts Docker's API stream carries
(``{"status": "Downloading", "id": "9ad63333ebc9", "progressDetail": {"current": N,
"total": M}}``); this module turns them into what a docker user sees:

* on a terminal, one line per id rewritten in place (a rich live view):
  ``9ad63333ebc9: Downloading [=====>        ]  1.2MB/2.2MB``;
* elsewhere, plain lines, the ones carrying a progress bar left out (as
  docker's ``jsonmessage.Display`` does when not on a terminal);
* quiet: nothing.

``progress_text`` is docker's ``JSONProgress.String()`` (bar, ``1.2MB/2.2MB``, time left);
compose's pull view reuses it through ``engine.api``.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import IO

from engine.values import format_duration

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


def human_size(n: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits (``2.151MB``)."""
    n = float(n)
    i = 0
    while n >= 1000.0 and i < len(_UNITS) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.4g}{_UNITS[i]}"


def _go_duration(seconds: int) -> str:
    """A whole number of seconds as Go's Duration.String() prints it (``1m5s``, ``0s``)."""
    return format_duration(max(0, int(seconds)) * 1_000_000_000)


def progress_text(detail: dict | None, width: int = 200, now: float | None = None) -> str:
    """``[====>     ]  1.2MB/2.2MB 3s``: the bar only when the terminal is wider than 110 columns,
    the time left only with a start time and wider than 50, as docker prints it."""
    if not detail:
        return ""
    current = int(detail.get("current") or 0)
    total = int(detail.get("total") or 0)
    if current <= 0 and total <= 0:
        return ""
    units = detail.get("units") or ""
    if total <= 0:
        return f"{human_size(current):>8}" if not units else f"{current} {units}"
    pct = min(int(current / total * 100) // 2, 50)
    bar = f"[{'=' * pct}>{' ' * max(50 - pct, 0)}] " if width > 110 else ""
    if units:
        numbers = f"{current}/{total} {units}"
    elif current > total:
        numbers = f"{human_size(current):>8}"
    else:
        numbers = f"{human_size(current):>8}/{human_size(total)}"
    left = ""
    start = detail.get("start")
    if current > 0 and start and pct < 50 and width > 50:
        elapsed = (now or time.time()) - float(start)
        left = " " + _go_duration(int(elapsed / current * (total - current)))
    return bar + numbers + left


def has_bar(msg: dict) -> bool:
    """True for the messages docker leaves out when not on a terminal (they carry a progress bar)."""
    return bool(progress_text(msg.get("progressDetail")))


def line_of(msg: dict, width: int = 200, terminal: bool = True) -> str:
    """One message as docker's Display writes it (without the line end)."""
    out = f"{msg['id']}: " if msg.get("id") else ""
    status = msg.get("status") or msg.get("stream") or ""
    if terminal and msg.get("progressDetail") is not None:
        return f"{out}{status} {progress_text(msg.get('progressDetail'), width)}".rstrip()
    return out + status


class MessageDisplay:
    """Callable sink for progress dicts; ``close()`` once the operation ended.

    ``mode``: ``tty`` (rich live view), ``plain`` or ``quiet``; ``auto`` picks ``tty`` when
    ``stream`` is a terminal. Safe to call from several threads (layers download in parallel).
    """

    def __init__(self, stream: IO[str] | None = None, mode: str = "auto"):
        self.stream = stream or sys.stdout
        if mode == "auto":
            mode = "tty" if _isatty(self.stream) else "plain"
        self.mode = mode
        self.lock = threading.Lock()
        self.rows: list[list] = []          # [id or None, message]
        self.index: dict[str, int] = {}     # id -> row
        self.live = None

    def __call__(self, msg: dict) -> None:
        with self.lock:
            if self.mode == "quiet":
                return
            if self.mode == "plain":
                if not has_bar(msg):
                    self.stream.write(line_of(msg, terminal=False) + "\n")
                    self.stream.flush()
                return
            self._update(msg)

    def _update(self, msg: dict) -> None:
        key = msg.get("id")
        if key and key in self.index:
            self.rows[self.index[key]][1] = msg
        else:
            if key:
                self.index[key] = len(self.rows)
            self.rows.append([key, msg])
        if self.live is None:
            self._start()
        self.live.refresh()

    def _start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream, highlight=False, soft_wrap=False)
        self.width = console.width
        self.live = Live(console=console, auto_refresh=False, transient=False, get_renderable=self._render)
        self.live.start()

    def _render(self):
        from rich.text import Text

        width = getattr(self, "width", 200)
        return Text("\n".join(line_of(m, width) for _, m in self.rows), no_wrap=True, overflow="ellipsis")

    def close(self) -> None:
        with self.lock:
            if self.live is not None:
                self.live.refresh()
                self.live.stop()
                if not self.live.console.is_terminal:  # a terminal got its line end from rich
                    self.stream.write("\n")
                    self.stream.flush()
                self.live = None

    def __enter__(self) -> "MessageDisplay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
