"""Reading a container's json-file log, like ``docker logs``.

Why here and not in the supervisor: reading must work when no supervisor
runs (``logs`` still prints what was written), and many readers may follow
one log at once without the daemon doing anything for them. The supervisor
writes ``<id>-json.log`` (Docker's json-file format: one JSON object per line
with ``log``, ``stream``, ``time``), rotating it to ``.1``, ``.2``...
(``.N.gz`` when compressed); this module reads the rotated files oldest
first, filters by stream and time, keeps the last ``tail`` entries, and with
``follow`` waits for new lines with inotify (ctypes), following the file
across rotation until the container stops for good.
"""
from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

from engine import values
from engine.errors import InvalidArgument

__all__ = ["LogEntry", "read_logs", "parse_log_line", "log_files", "time_ns", "parse_tail", "format_time"]


class LogEntry(collections.namedtuple("LogEntry", ("stream", "time", "data"))):
    """One json-file record: ``stream`` "stdout"/"stderr", ``time`` RFC 3339 nanoseconds, ``data`` bytes
    (immutable; a named tuple, so reading logs needs no dataclasses import; collections', as
    engine.images.reference.Reference, so no annotation is compiled at import)."""

    __slots__ = ()

    @property
    def time_ns(self) -> int:
        return time_ns(self.time)


def time_ns(stamp: str) -> int:
    """RFC 3339 (``2024-05-01T10:00:00.123456789Z`` or with an offset) -> unix nanoseconds."""
    try:
        return values.parse_rfc3339(stamp)
    except ValueError:
        raise ValueError(f"bad log time {stamp!r}") from None


def format_time(stamp: str) -> str:
    """The timestamp ``docker logs -t`` prints: RFC 3339 with nanoseconds in UTC."""
    return values.format_rfc3339_nano(time_ns(stamp))


def parse_log_line(line: bytes) -> LogEntry | None:
    """One json-file line -> LogEntry; None for a torn or foreign line (skipped like Docker)."""
    try:
        obj = json.loads(line)
        return LogEntry(str(obj.get("stream") or "stdout"), str(obj.get("time") or ""),
                        str(obj.get("log") or "").encode("utf-8", "surrogateescape"))
    except (ValueError, AttributeError):
        return None


def parse_tail(tail: Any) -> int | None:
    """``--tail``/``-n``: "all" or negative -> None (everything), else a count."""
    if tail is None or tail == "" or str(tail) == "all":
        return None
    try:
        n = int(tail)
    except ValueError:
        raise InvalidArgument(f"invalid value for tail: {tail!r}: a number or \"all\"") from None
    return None if n < 0 else n


def log_files(path: Path) -> list[Path]:
    """The rotated files (``.N``, ``.N.gz``) oldest first, then the live file."""
    path = Path(path)
    rotated: list[tuple[int, Path]] = []
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    prefix = path.name + "."
    for n in names:
        if n.startswith(prefix):
            m = re.fullmatch(r"(\d+)(\.gz)?", n[len(prefix):])
            if m:
                rotated.append((int(m.group(1)), path.parent / n))
    out = [p for _, p in sorted(rotated, reverse=True)]
    if path.exists():
        out.append(path)
    return out


def _read_lines(p: Path) -> Iterator[bytes]:
    if p.name.endswith(".gz"):  # a compressed rotated file (max-file with compress)
        import gzip

        opener = gzip.open
    else:
        opener = open
    try:
        with opener(p, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    yield line
    except (FileNotFoundError, EOFError, OSError):
        return


def _to_ns(value: Any) -> int | None:
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, (int, float)):
        return int(value * 1_000_000_000)
    from engine.containerview import since_until_seconds

    return int(since_until_seconds(value) * 1_000_000_000)


class _Inotify:
    """Just enough inotify (ctypes) to wake a follower when the log directory changes."""

    IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE, IN_DELETE_SELF = 0x2, 0x8, 0x80, 0x100, 0x400

    def __init__(self, directory: Path):
        import ctypes

        self.fd = -1
        # the C library this interpreter is linked with (dlopen(NULL)): ctypes.util.find_library
        # would run ``ldconfig -p`` in a subprocess first, a few milliseconds of every ``run``
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return
        mask = self.IN_MODIFY | self.IN_CLOSE_WRITE | self.IN_MOVED_TO | self.IN_CREATE | self.IN_DELETE_SELF
        if libc.inotify_add_watch(fd, str(directory).encode(), mask) < 0:
            os.close(fd)
            return
        self.fd = fd

    def wait(self, timeout: float) -> None:
        """Return when something changed in the directory, or after ``timeout`` seconds."""
        import select  # here: reading a log whole (a short run's output, ``logs``) waits for nothing

        if self.fd < 0:
            select.select([], [], [], min(timeout, 0.1))
            return
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                while os.read(self.fd, 65536):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        """Closing an inotify descriptor that held a watch waits for the kernel's fsnotify SRCU
        grace period (~15 ms here): a daemon thread does it, so a follower that is done (``run``,
        ``logs -f`` at the container's exit) goes on at once."""
        if self.fd >= 0:
            import threading

            fd, self.fd = self.fd, -1
            threading.Thread(target=os.close, args=(fd,), name="inotify-close", daemon=True).start()


def read_logs(path: str | os.PathLike, follow: bool = False, stdout: bool = True, stderr: bool = True,
              since: Any = None, until: Any = None, tail: Any = None,
              alive: Callable[[], bool] | None = None) -> Iterator[LogEntry]:
    """Entries of a json-file log (rotated files included), filtered like ``docker logs``.

    ``alive()`` tells a follower whether more output may still come; following ends
    once it returns False and everything written has been read. ``until`` ends
    following too, at that time.
    """
    path = Path(path)
    streams = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
    since_ns, until_ns = _to_ns(since), _to_ns(until)
    n_tail = parse_tail(tail)

    def keep(e: LogEntry) -> bool:
        if e.stream not in streams:
            return False
        if since_ns is None and until_ns is None:
            return True
        try:
            t = e.time_ns
        except ValueError:
            return True
        if since_ns is not None and t < since_ns:
            return False
        if until_ns is not None and t > until_ns:
            return False
        return True

    watcher = _Inotify(path.parent) if follow else None
    try:
        # the live file is opened before reading the rotated ones, so a rotation meanwhile is seen
        live = _open(path) if follow else None
        files = log_files(path)
        entries: collections.deque[LogEntry] | list[LogEntry]
        entries = collections.deque(maxlen=n_tail) if n_tail is not None else []
        if n_tail != 0:
            for p in files:
                if follow and p == path:
                    continue
                for line in _read_lines(p):
                    e = parse_log_line(line)
                    if e is not None and keep(e):
                        entries.append(e)
        if not follow:
            yield from entries
            return
        pending = b""
        if live is not None:
            data = live.read()
            pending = _complete(data, n_tail, keep, entries)
        yield from entries
        yield from _follow(path, live, pending, keep, alive, watcher, until_ns)
    finally:
        if watcher:
            watcher.close()


def _open(path: Path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def _complete(data: bytes, n_tail, keep, entries) -> bytes:
    """Parse whole lines of ``data`` into ``entries``; return the trailing partial line."""
    *lines, rest = data.split(b"\n")
    if n_tail != 0:
        for line in lines:
            e = parse_log_line(line)
            if e is not None and keep(e):
                entries.append(e)
    return rest


def _follow(path: Path, f, pending: bytes, keep, alive, watcher: _Inotify, until_ns: int | None):
    import time as _time

    def ino(fobj) -> int:
        try:
            return os.fstat(fobj.fileno()).st_ino
        except (OSError, ValueError):
            return -1

    last_check_done = False
    while True:
        progressed = False
        if f is not None:
            data = f.read()
            if data:
                progressed = True
                buf = pending + data
                *lines, pending = buf.split(b"\n")
                for line in lines:
                    e = parse_log_line(line)
                    if e is not None and keep(e):
                        yield e
            # rotated away or recreated: finish the old file (done above), then move to the new one
            try:
                st = os.stat(path)
                if st.st_ino != ino(f):
                    f.close()
                    f, pending = _open(path), b""
                    continue
            except FileNotFoundError:
                pass
        else:
            f = _open(path)
            if f is not None:
                continue
        if until_ns is not None and _time.time_ns() > until_ns:
            return
        if progressed:
            last_check_done = False
            continue
        if alive is not None and not alive():
            if last_check_done:
                return
            last_check_done = True  # one more read: output written just before the exit
            continue
        watcher.wait(1.0)
