"""Build progress: BuildKit-like vertex events, and their renderers (plain, tty, quiet).

Why events: the executor runs stages concurrently and must not know who watches; the
engine CLI (``image build``) and compose (``pycompose build``) print the same events.
An event is a dict:

    {"vertex": 5, "name": "[stage-1 2/5] RUN make", "started": 1700000000.1}
    {"vertex": 5, "cached": True}
    {"vertex": 5, "log": b"output bytes"}
    {"vertex": 8, "status": "writing image sha256:...", "done": True}
    {"vertex": 5, "completed": 1700000000.4, "error": "process ... exit code: 3" | None}

``PlainRenderer`` prints what ``docker build --progress plain`` prints ("#5 [2/5] RUN ...",
"#5 0.215 output", "#5 CACHED", "#5 DONE 0.3s"); ``TtyRenderer`` redraws BuildKit's
"[+] Building 1.2s (8/8) FINISHED" block; ``QuietRenderer`` prints nothing.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

Sink = Callable[[dict], None]


class Progress:
    """Numbers vertices and forwards their events to ``sink`` (thread-safe)."""

    def __init__(self, sink: Sink | None = None):
        self.sink = sink
        self._n = 0
        self._lock = threading.Lock()

    def emit(self, event: dict) -> None:
        if self.sink is not None:
            with self._lock:
                self.sink(event)

    def vertex(self, name: str) -> "Vertex":
        with self._lock:
            self._n += 1
            n = self._n
        v = Vertex(self, n, name)
        self.emit({"vertex": n, "name": name, "started": v.started})
        return v


@dataclass
class Vertex:
    progress: Progress
    number: int
    name: str
    started: float = field(default_factory=time.time)
    closed: bool = False

    def cached(self) -> None:
        self.progress.emit({"vertex": self.number, "cached": True})

    def log(self, data: bytes) -> None:
        if data:
            self.progress.emit({"vertex": self.number, "log": bytes(data)})

    def status(self, text: str, done: bool = True) -> None:
        self.progress.emit({"vertex": self.number, "status": text, "done": done})

    def done(self, error: str | None = None) -> None:
        if not self.closed:
            self.closed = True
            self.progress.emit({"vertex": self.number, "completed": time.time(), "error": error})


@dataclass
class _State:
    name: str
    started: float
    completed: float | None = None
    cached: bool = False
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    partial: str = ""


class _Vertices:
    """What both renderers know of each vertex, kept up to date from the events."""

    def __init__(self):
        self.v: dict[int, _State] = {}

    def update(self, ev: dict) -> tuple[_State | None, list[str]]:
        """Apply ``ev`` to its vertex: the vertex's state (None when it was never named) and the
        whole log lines the event completed (a line's end waits in ``partial`` for the next)."""
        n = ev["vertex"]
        if "name" in ev:
            self.v[n] = _State(ev["name"], ev.get("started") or time.time())
            return self.v[n], []
        st = self.v.get(n)
        lines: list[str] = []
        if st is None:
            pass
        elif ev.get("cached"):
            st.cached = True
        elif "log" in ev:
            *lines, st.partial = (st.partial + ev["log"].decode("utf-8", "replace")).split("\n")
        elif "status" in ev:
            st.statuses.append(ev["status"])
        elif "completed" in ev:
            st.completed, st.error = ev["completed"], ev.get("error")
        return st, [line.rstrip("\r") for line in lines]


class PlainRenderer(_Vertices):
    """``--progress plain``: BuildKit's plain-text printer."""

    def __init__(self, out: TextIO | None = None):
        super().__init__()
        self.out = out or sys.stderr
        self.last: int | None = None

    def __call__(self, ev: dict) -> None:
        n = ev["vertex"]
        st, lines = self.update(ev)
        if st is None:
            return
        if "name" in ev:
            self._header(n, force=True)
        elif ev.get("cached"):
            self._header(n)
            self._line(f"#{n} CACHED")
        elif "log" in ev:
            self._header(n)
            for line in lines:
                self._line(f"#{n} {time.time() - st.started:.3f} {line}")
        elif "status" in ev:
            self._header(n)
            self._line(f"#{n} {ev['status']}" + (" done" if ev.get("done") else ""))
        elif "completed" in ev:
            self._complete(n, st, ev)

    def _complete(self, n: int, st: _State, ev: dict) -> None:
        if not (st.cached and not ev.get("error")):
            self._header(n)
        if st.partial:
            self._line(f"#{n} {time.time() - st.started:.3f} {st.partial}")
            st.partial = ""
        st.completed = ev["completed"]
        if st.cached and not ev.get("error"):
            if self.last == n:
                self.out.write("\n")
                self.last = None
            return
        if ev.get("error") == "canceled":
            self._line(f"#{n} CANCELED")
        elif ev.get("error"):
            self._line(f"#{n} ERROR: {ev['error']}")
        elif not st.cached:
            self._line(f"#{n} DONE {max(0.0, st.completed - st.started):.1f}s")
        self.out.write("\n")
        self.out.flush()
        self.last = None

    def _header(self, n: int, force: bool = False) -> None:
        if self.last == n and not force:
            return
        if self.last is not None:
            self.out.write("\n")
        self.last = n
        self._line(f"#{n} {self.v[n].name}")

    def _line(self, s: str) -> None:
        self.out.write(s + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


class TtyRenderer(_Vertices):
    """``--progress tty``: the block BuildKit redraws in place on a terminal."""

    def __init__(self, out: TextIO | None = None):
        super().__init__()
        self.out = out or sys.stderr
        self.start = time.time()
        self.drawn = 0
        self.lock = threading.Lock()
        self.finished = False
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            self.draw()

    def __call__(self, ev: dict) -> None:
        with self.lock:
            st, lines = self.update(ev)
            if st is not None and lines:
                st.logs = (st.logs + lines)[-6:]  # the last lines of a running step stay on screen

    def _lines(self) -> list[str]:
        width = max(40, shutil.get_terminal_size((100, 20)).columns)
        now = time.time()
        done = sum(1 for s in self.v.values() if s.completed)
        state = "FINISHED" if self.finished else ""
        lines = [f"[+] Building {now - self.start:.1f}s ({done}/{len(self.v)}) {state}".rstrip()]
        for st in self.v.values():
            t = (st.completed or now) - st.started
            label = ("CACHED " if st.cached else "") + ({None: "", "canceled": "CANCELED "}.get(st.error, "ERROR ")) \
                + st.name
            lines.append(_fit(f" => {label}", f"{t:.1f}s", width))
            for s in st.statuses:
                lines.append(_fit(f" => => {s}", "", width))
            if not st.completed:
                lines += [_fit(f" => => # {l}", "", width) for l in st.logs]
        return lines

    def draw(self) -> None:
        with self.lock:
            lines = self._lines()
            buf = ("\x1b[1A\x1b[2K" * self.drawn) + "\r" + "\n".join(lines) + "\n"
            self.out.write(buf)
            self.out.flush()
            self.drawn = len(lines)

    def close(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=1)
        self.finished = True
        self.draw()


def _fit(left: str, right: str, width: int) -> str:
    room = width - len(right) - 1
    if len(left) > room:
        left = left[:max(0, room - 1)] + "…"
    return left.ljust(room) + " " + right if right else left[:width]


class QuietRenderer:
    """``--progress quiet`` / ``-q``: nothing while building."""

    def __call__(self, ev: dict) -> None:
        pass

    def close(self) -> None:
        pass


def renderer(mode: str | None, out: TextIO | None = None):
    """The renderer for ``--progress auto|plain|tty|quiet`` (auto: tty on a terminal, else plain)."""
    out = out or sys.stderr
    mode = (mode or "auto").lower()
    if mode == "auto":
        mode = "tty" if out.isatty() else "plain"
    if mode == "plain":
        return PlainRenderer(out)
    if mode == "tty":
        return TtyRenderer(out)
    if mode in ("quiet", "none"):
        return QuietRenderer()
    from engine.errors import InvalidArgument

    raise InvalidArgument(f'invalid progress mode "{mode}": auto, plain, tty or quiet')
