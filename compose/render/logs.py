"""Log lines of several containers on one stream: ``name  | line``, padded, coloured.

Compose v2 pads every prefix to the longest container name and gives each
container the next colour of a fixed rotation; ``--no-color`` and
``--no-log-prefix`` turn those off. Writes are whole lines under a lock, so
lines of containers followed by different threads never interleave.
"""
from __future__ import annotations

import sys
import threading
from datetime import datetime, timezone
from typing import IO

# Compose's rotation: cyan, yellow, green, magenta, blue, then the bright ones.
COLOURS = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]


class LogPrinter:
    def __init__(self, stream: IO[str] | None = None, colour: bool = True, prefix: bool = True,
                 timestamps: bool = False):
        self.stream = stream or sys.stdout
        self.colour, self.prefix, self.timestamps = colour, prefix, timestamps
        self.width = 0
        self.colours: dict[str, str] = {}
        self.lock = threading.Lock()
        self._partial: dict[tuple[str, str], str] = {}

    def register(self, name: str) -> None:
        """Known names set the padding; each new one takes the next colour."""
        with self.lock:
            self.width = max(self.width, len(name))
            if name not in self.colours:
                self.colours[name] = COLOURS[len(self.colours) % len(COLOURS)]

    def _prefix(self, name: str) -> str:
        if not self.prefix:
            return ""
        text = f"{name.ljust(self.width)}  | "
        if self.colour:
            return f"\x1b[{self.colours.get(name, COLOURS[0])}m{text}\x1b[0m"
        return text

    def line(self, name: str, text: str, when: str | float | None = None) -> None:
        """One line of output of container ``name`` (without its newline)."""
        if name not in self.colours:
            self.register(name)
        ts = ""
        if self.timestamps and when is not None:
            ts = _iso(when) + " "
        with self.lock:
            self.stream.write(f"{self._prefix(name)}{ts}{text}\n")
            self.stream.flush()

    def data(self, name: str, stream: str, data: bytes, when=None) -> None:
        """Raw output bytes: split into lines, keeping an unfinished tail for the next chunk."""
        text = self._partial.pop((name, stream), "") + data.decode(errors="replace")
        parts = text.split("\n")
        if parts[-1]:
            self._partial[(name, stream)] = parts[-1]
        for p in parts[:-1]:
            self.line(name, p.rstrip("\r"), when)

    def flush_partial(self, name: str) -> None:
        for key in [k for k in self._partial if k[0] == name]:
            self.line(name, self._partial.pop(key))

    def event(self, name: str, text: str) -> None:
        """A status line about a container (exited, restarted), as attached ``up`` prints them."""
        line = f"{name} {text}" if name else text
        with self.lock:
            self.stream.write(f"{line}\n" if not self.colour else
                              f"\x1b[{self.colours.get(name, COLOURS[0])}m{line}\x1b[0m\n")
            self.stream.flush()


def use_colour(no_color: bool, ansi: str = "auto", stream: IO[str] | None = None) -> bool:
    """``--no-color`` wins; ``--ansi always|never`` decide; ``auto``: only on a terminal."""
    if no_color or ansi == "never":
        return False
    if ansi == "always":
        return True
    return (stream or sys.stdout).isatty()


def _iso(when) -> str:
    if isinstance(when, (int, float)):
        return datetime.fromtimestamp(when, timezone.utc).isoformat().replace("+00:00", "Z")
    return str(when)
