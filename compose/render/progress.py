"""Progress of up/down/start/stop...: one line per network, volume and container.

Like Docker Compose v2: on a terminal a live view (``[+] Running 3/3`` and a
line per resource with its state and elapsed time); plain lines when stdout is
not a terminal or with ``--progress plain``; one JSON object per event with
``--progress json``; nothing with ``quiet``. Events can come from any thread.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

# statuses that end a resource's work (shown with a tick) and failures (a cross)
DONE = {"Created", "Started", "Running", "Healthy", "Stopped", "Removed", "Recreated", "Killed",
        "Paused", "Unpaused", "Restarted", "Exited", "Skipped", "Up-to-date",
        # pull / push (an image, and its layers as child lines)
        "Pulled", "Pushed", "Pull complete", "Already exists", "Download complete", "Layer already exists",
        # build (compose.build)
        "Built"}
FAILED = {"Error", "Unhealthy"}


def ends(status: str) -> bool:
    """True when ``status`` ends a resource's work (``Mounted from x`` too)."""
    return status in DONE or status in FAILED or status in ("Warning", "Interrupted") \
        or status.startswith("Mounted from ")


@dataclass
class Line:
    kind: str
    name: str
    status: str = ""
    detail: str = ""
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    parent: str | None = None   # key of the parent line (a layer under its image)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.kind else self.name


class Progress:
    """Collects events; subclasses decide how they look. ``with progress:`` brackets a command."""

    title = "Running"

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream or sys.stderr
        self.lines: dict[str, Line] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def event(self, kind: str, name: str, status: str, detail: str = "", parent: str | None = None) -> None:
        """``parent``: the key (``"Image busybox"``) of the line this one is a child of (a layer)."""
        with self.lock:
            key = f"{parent}/{name}" if parent else f"{kind} {name}"
            line = self.lines.get(key)
            if line is None:
                line = self.lines[key] = Line(kind, name, parent=parent)
            line.status, line.detail = status, detail
            line.ended = time.monotonic() if ends(status) else None
            self.show(line)

    def show(self, line: Line) -> None:
        raise NotImplementedError

    def message(self, text: str) -> None:
        """A warning or note outside the resource lines."""
        self.stream.write(text + "\n")
        self.stream.flush()


class PlainProgress(Progress):
    def show(self, line: Line) -> None:
        text = f" {line.label}  {line.status}" if not line.parent else f" {line.name} {line.status}"
        if line.detail:
            text += f" {line.detail}"
        self.stream.write(text + "\n")
        self.stream.flush()


class JsonProgress(Progress):
    def show(self, line: Line) -> None:
        obj = {"id": line.label, "text": line.status, "status": line.detail or line.status}
        if line.parent:
            obj["parent_id"] = line.parent
        if line.status in FAILED:
            obj["error"] = True
        self.stream.write(json.dumps(obj) + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        self.stream.write(json.dumps({"level": "warning", "msg": text}) + "\n")


class QuietProgress(Progress):
    def show(self, line: Line) -> None:
        pass

    def message(self, text: str) -> None:
        pass


class TtyProgress(Progress):
    """rich live view, refreshed as events arrive (and 10 times a second for the clocks)."""

    def __init__(self, stream=None):
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=self.stream, highlight=False)
        self.live = Live(console=self.console, refresh_per_second=10, transient=False,
                         get_renderable=self._render)
        self.started = False  # the view appears with the first event: commands with none print nothing

    def _render(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        t = Table.grid(padding=(0, 1))
        t.add_column()
        t.add_column()
        t.add_column()
        t.add_column(justify="right")
        lines = [l for l in self.lines.values() if not l.parent]
        done = sum(1 for l in lines if l.ended is not None)
        now = time.monotonic()
        title = Text(f"[+] {self.title} {done}/{len(lines)}", style="bold" if done < len(lines) else "")
        for l in self._with_children(lines):
            if l.status in FAILED:
                mark, style = "✘", "red"
            elif l.ended is not None:
                mark, style = "✔", "green"
            else:
                mark, style = "⠿", "blue"
            elapsed = (l.ended or now) - l.started
            indent = "  " if l.parent else ""
            t.add_row(Text(f"{indent} {mark}", style=style), Text(l.label), Text(f"{l.status}{' ' + l.detail if l.detail else ''}",
                      style="red" if l.status in FAILED else ""), Text(f"{elapsed:.1f}s", style="blue"))
        return Group(title, t)

    def _with_children(self, tops: list[Line]) -> list[Line]:
        """Each top line followed by its children (layers under their image)."""
        kids: dict[str, list[Line]] = {}
        for l in self.lines.values():
            if l.parent:
                kids.setdefault(l.parent, []).append(l)
        out = []
        for l in tops:
            out.append(l)
            out.extend(kids.get(l.label, []))
        return out

    def show(self, line: Line) -> None:
        if not self.started:
            self.started = True
            self.live.start()
        self.live.refresh()

    def message(self, text: str) -> None:
        self.live.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        if self.started:
            self.live.refresh()
            self.live.stop()
            self.started = False


def make_progress(mode: str = "auto", stream: IO[str] | None = None, title: str = "Running") -> Progress:
    """``auto`` picks the live view on a terminal (stderr), plain lines otherwise."""
    stream = stream or sys.stderr
    if mode == "auto":
        mode = "tty" if stream.isatty() else "plain"
    cls = {"tty": TtyProgress, "plain": PlainProgress, "json": JsonProgress, "quiet": QuietProgress}[mode]
    p = cls(stream)
    p.title = title
    return p
