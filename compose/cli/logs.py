"""``pycompose logs``: output of the project's containers, and the follower attached ``up`` uses.

``-f`` keeps following: a container that restarts is picked up again where
it left off, containers created later (scale, recreate, run) are added, and
following ends when the project has no containers any more. All of that comes
from the engine's event stream, not from polling.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable

from compose import convert as cv
from compose.backend import Compose, labels, open_backend, short_name
from compose.render.logs import LogPrinter, use_colour
from engine.values import parse_rfc3339

HELP = "View output from containers"


# docker compose logs' options: (flags, argparse keywords)
_OPTIONS = (
    (("services",), {"nargs": "*", "metavar": "SERVICE"}),
    (("-f", "--follow"), {"action": "store_true", "help": "Follow log output"}),
    (("-t", "--timestamps"), {"action": "store_true", "help": "Show timestamps"}),
    (("-n", "--tail"), {"default": "all", "help": "Number of lines to show from the end of the logs"}),
    (("--since",), {"help": "Show logs since timestamp or relative (e.g. 42m)"}),
    (("--until",), {"help": "Show logs before a timestamp or relative (e.g. 42m)"}),
    (("--no-log-prefix",), {"action": "store_true", "help": "Don't print prefix in logs"}),
    (("--no-color",), {"action": "store_true", "help": "Produce monochrome output"}),
    (("--index",), {"type": int, "default": 0, "help": "index of the container if service has multiple replicas"}),
)


def add_arguments(parser, command) -> None:
    for flags, keywords in _OPTIONS:
        parser.add_argument(*flags, **keywords)


def _entry_parts(entry: Any) -> tuple[str, Any, bytes]:
    if isinstance(entry, dict):
        return entry.get("stream", "stdout"), entry.get("time"), entry.get("data", b"")
    if isinstance(entry, tuple):
        return entry[0], entry[1], entry[2]
    return getattr(entry, "stream", "stdout"), getattr(entry, "time", None), getattr(entry, "data", b"")


def _key(entry: Any) -> int:
    """A log entry's time in ns (RFC 3339 text trims zeros, so it does not compare as text)."""
    ns = getattr(entry, "time_ns", None)
    if isinstance(ns, int):
        return ns
    _, when, _ = _entry_parts(entry)
    if isinstance(when, (int, float)):
        return int(when * 1e9)
    try:
        return parse_rfc3339(str(when or ""))
    except ValueError:
        return 0


class Follower:
    """Streams the logs of a project's containers to a LogPrinter, one thread per container.

    ``on_die(container_name, exit_code)`` is called when a followed container exits;
    ``include(container)`` decides which containers to show.
    """

    def __init__(self, backend: Compose, printer: LogPrinter, follow: bool = True, tail: str | None = None,
                 since: str | None = None, until: str | None = None, timestamps: bool = False,
                 include: Callable[[dict], bool] | None = None,
                 on_die: Callable[[str, dict], None] | None = None, show_events: bool = False):
        self.b, self.printer = backend, printer
        self.follow, self.tail, self.since, self.until, self.timestamps = follow, tail, since, until, timestamps
        self.include = include or (lambda c: True)
        self.on_die = on_die
        self.show_events = show_events
        self.lock = threading.Lock()
        self.streams: dict[str, threading.Thread] = {}
        self.last: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        self.alive: set[str] = set()
        self.done = threading.Event()
        self.stopped = False
        self.reopen: set[str] = set()   # restarted while its previous stream was still closing
        self.opening = True              # the first containers are still being opened

    # -- one container
    def _stream(self, cid: str, name: str, resume: bool) -> None:
        engine = self.b.engine
        last = self.last.get(cid)
        try:
            kwargs = dict(follow=self.follow, stdout=True, stderr=True, timestamps=self.timestamps)
            if not resume:
                if self.tail not in (None, "all", ""):
                    kwargs["tail"] = int(self.tail)
                if self.since:
                    kwargs["since"] = self.since
            if self.until:
                kwargs["until"] = self.until
            for entry in engine.containers.logs(cid, **kwargs):
                if self.stopped:
                    return
                stream, when, data = _entry_parts(entry)
                key = _key(entry)
                if resume and last is not None and key <= last:
                    continue
                self.last[cid] = key
                self.printer.data(name, stream, data if isinstance(data, bytes) else str(data).encode(), when)
        except Exception as e:  # noqa: BLE001 - a container removed while streaming just ends its stream
            from engine.errors import NotFound

            if not isinstance(e, NotFound):
                self.printer.line(name, f"error reading logs: {e}")
        finally:
            self.printer.flush_partial(name)
            again = False
            with self.lock:
                self.streams.pop(cid, None)
                if cid in self.reopen and not self.stopped:
                    self.reopen.discard(cid)
                    again = True
                else:
                    self._check_done()
            if again:
                self._open({"Id": cid, "Names": [name]}, resume=True)

    def _open(self, c: dict, resume: bool = False) -> None:
        cid = c["Id"]
        name = short_name(c)
        with self.lock:
            if self.stopped:
                return
            if cid in self.streams:
                if resume:
                    self.reopen.add(cid)
                return
            self.names[cid] = name
            self.alive.add(cid)
            self.printer.register(name)
            t = threading.Thread(target=self._stream, args=(cid, name, resume), daemon=True)
            self.streams[cid] = t
        t.start()

    def _check_done(self) -> None:
        if self.opening:
            return
        if not self.follow:
            if not self.streams:
                self.done.set()
        elif not self.alive and not self.streams:
            self.done.set()

    # -- the event side
    def _events(self, ready: threading.Event) -> None:
        try:
            stream = self.b.engine.events(filters={"label": [f"{cv.PROJECT}={self.b.name}"],
                                                   "type": ["container"]}, since=self.since_ts)
            it = iter(stream)
        finally:
            ready.set()
        try:
            for ev in it:
                if self.stopped:
                    return
                self._on_event(ev)
        except Exception:  # noqa: BLE001 - the engine went away: nothing more to follow
            self.done.set()

    def _on_event(self, ev: dict) -> None:
        action = ev.get("Action") or ev.get("status") or ""
        actor = ev.get("Actor") or {}
        cid = actor.get("ID") or ev.get("id") or ""
        attrs = actor.get("Attributes") or {}
        if attrs.get(cv.PROJECT, self.b.name) != self.b.name:
            return
        if action in ("start", "restart"):
            try:
                info = self.b.engine.containers.inspect(cid)
            except Exception:  # noqa: BLE001 - gone again already
                return
            c = {"Id": cid, "Names": [info.get("Name", "")], "Labels": (info.get("Config") or {}).get("Labels") or {},
                 "State": "running"}
            if not self.include(c):
                return
            self._open(c, resume=cid in self.last or cid in self.names)
        elif action == "die":
            name = self.names.get(cid) or attrs.get("name") or cid[:12]
            if cid in self.names and self.on_die:
                self.on_die(name, attrs)
        elif action == "destroy":
            with self.lock:
                self.alive.discard(cid)
                self._check_done()

    def run(self, containers: list[dict] | None = None) -> None:
        """Stream until the logs end (no -f) or, with -f, until every followed container is gone."""
        import time

        ready = threading.Event()
        self.since_ts = time.time()  # replayed from the engine's history: nothing between list and subscribe is lost
        if self.follow:
            threading.Thread(target=self._events, args=(ready,), daemon=True).start()
            ready.wait()
        cs = containers if containers is not None else [c for c in self.b.containers(all=True, oneoff=None)
                                                       if self.include(c)]
        for c in cs:
            self.printer.register(short_name(c))
        for c in cs:
            self._open(c)
        with self.lock:
            self.opening = False
            self._check_done()
        while not self.done.wait(0.5 if not self.follow else None):
            pass

    def stop(self) -> None:
        self.stopped = True
        self.done.set()


def run(args, gopts) -> int:
    b = open_backend(gopts, need_project=False, labels_only=True)
    b.check_services(args.services)
    wanted = set(args.services)

    def include(c: dict) -> bool:
        lb = labels(c)
        if wanted and lb.get(cv.SERVICE) not in wanted:
            return False
        if args.index and lb.get(cv.NUMBER) != str(args.index):
            return False
        return True

    printer = LogPrinter(sys.stdout, colour=use_colour(args.no_color, getattr(gopts, 'ansi', 'auto')),
                         prefix=not args.no_log_prefix, timestamps=args.timestamps)
    f = Follower(b, printer, follow=args.follow, tail=args.tail, since=args.since, until=args.until,
                 timestamps=args.timestamps, include=include)
    try:
        f.run()
    except KeyboardInterrupt:
        f.stop()
        return 0
    return 0
