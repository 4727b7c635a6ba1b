"""Docker's json-file log format, written by the supervisor.

One JSON object per line: ``{"log":"text\\n","stream":"stdout","time":"...Z"}``
with RFC 3339 times and nine fraction digits (Docker's RFC3339NanoFixed).
Like Docker, a line longer than 16 KiB is split into several entries (only the
last one ends in ``\\n``), and with ``max-size`` the file is rotated to
``.1`` .. ``.N-1`` (``.gz`` with ``compress``), so ``engine.logs`` and any
tool that reads Docker's logs can read ours.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import time
from pathlib import Path

from engine import values
from engine.errors import InvalidArgument

MAX_PARTIAL = 16 * 1024  # Docker's copier buffer: longer lines are split into partial messages


def max_size_option(value: str) -> int:
    """``10m``, ``512k``, ``1g``, ``100`` -> bytes (binary units: json-file reads them with RAMInBytes)."""
    try:
        size = values.parse_size(str(value).strip())
    except ValueError:
        raise InvalidArgument(f"invalid max-size {value!r}: expected a size like 10m, 512k or 1g") from None
    if size <= 0:
        raise InvalidArgument(f"invalid max-size {value!r}: must be a positive size")
    return size


def log_options(log_config: dict | None) -> tuple[bool, int, int, bool]:
    """(enabled, max_size or -1, max_file, compress) from HostConfig.LogConfig, validated."""
    log_config = log_config or {}
    kind = log_config.get("Type") or "json-file"
    if kind == "none":
        return False, -1, 1, False
    if kind not in ("json-file", "local"):
        raise InvalidArgument(f'logging driver "{kind}" is not supported: use json-file or none')
    opts = log_config.get("Config") or {}
    known = {"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag", "mode",
             "max-buffer-size"}
    for key in opts:
        if key not in known:
            raise InvalidArgument(f"unknown log opt '{key}' for json-file log driver")
    max_size = max_size_option(opts["max-size"]) if opts.get("max-size") not in (None, "", "-1") else -1
    try:
        max_file = int(opts.get("max-file") or 1)
    except ValueError:
        raise InvalidArgument(f"invalid value for max-file: {opts.get('max-file')!r}") from None
    if max_file < 1:
        raise InvalidArgument("max-file cannot be less than 1")
    if max_file > 1 and max_size == -1:
        raise InvalidArgument("max-file can only be used together with max-size")
    compress = str(opts.get("compress") or "false").lower() in ("1", "true", "yes")
    return True, max_size, max_file, compress


def format_time(ns: int) -> str:
    """Unix nanoseconds -> ``2024-05-01T10:00:00.123456789Z``."""
    return values.format_rfc3339_nano(ns)


def encode_entry(data: bytes, stream: str, ns: int) -> bytes:
    """One json-file line (invalid UTF-8 replaced, like Go's encoder)."""
    return (json.dumps({"log": data.decode("utf-8", "replace"), "stream": stream, "time": format_time(ns)},
                       ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _report(message: str) -> None:
    """A line in the supervisor's log, if even that can be written."""
    try:
        sys.stderr.write(f"{format_time(time.time_ns())} {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class JsonFileWriter:
    """Appends a container's output to ``<id>-json.log``, splitting lines and rotating like Docker."""

    def __init__(self, path: str | os.PathLike, max_size: int = -1, max_file: int = 1, compress: bool = False,
                 clock=time.time_ns):
        self.path = Path(path)
        self.max_size, self.max_file, self.compress = max_size, max_file, compress
        self.clock = clock
        self._pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size
        self.dropped, self.failing = 0, False  # output lost to write errors (a full disk), and whether now
        self.report = _report

    @classmethod
    def for_record(cls, path: str | os.PathLike, log_config: dict | None) -> "JsonFileWriter | None":
        enabled, max_size, max_file, compress = log_options(log_config)
        return cls(path, max_size, max_file, compress) if enabled else None

    def write(self, stream: str, data: bytes) -> None:
        """Take a chunk read from the container; complete lines (or 16 KiB pieces) are logged now."""
        buf = self._pending.get(stream, b"") + data
        out = []
        while buf:
            nl = buf.find(b"\n", 0, MAX_PARTIAL)
            if nl >= 0:
                out.append(buf[:nl + 1])
                buf = buf[nl + 1:]
            elif len(buf) >= MAX_PARTIAL:
                out.append(buf[:MAX_PARTIAL])
                buf = buf[MAX_PARTIAL:]
            else:
                break
        self._pending[stream] = buf
        if out:
            self._emit(stream, out)

    def flush(self, stream: str | None = None) -> None:
        """Log what is left without a newline (the stream ended), like Docker does at EOF."""
        for s in ([stream] if stream else list(self._pending)):
            if self._pending.get(s):
                data, self._pending[s] = self._pending[s], b""
                self._emit(s, [data])

    def _emit(self, stream: str, pieces: list[bytes]) -> None:
        ns = self.clock()
        for piece in pieces:
            line = encode_entry(piece, stream, ns)
            try:
                if self.max_size > 0 and self._size >= self.max_size:
                    self._rotate()
                self._append(line)
            except OSError as e:  # a full disk: the entry is lost, as Docker's json-file loses it
                self.dropped += len(piece)
                if not self.failing:
                    self.failing = True
                    self.report(f"cannot write the json-file log {self.path}: {e.strerror or e}: "
                                f"dropping output until it can")
                continue
            if self.failing:
                self.failing = False
                self.report(f"the json-file log {self.path} is written again ({self.dropped} bytes of "
                            f"output dropped meanwhile)")

    def _append(self, line: bytes) -> None:
        """Write one whole entry or none: a short write on a full disk is cut back off, so the
        file never holds half a JSON line."""
        if self._fd < 0:  # a rotation that failed half-way: open the file again
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            self._size = os.fstat(self._fd).st_size
        done = 0
        try:
            while done < len(line):
                done += os.write(self._fd, line[done:])
        except OSError:
            if done:
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    pass
            raise
        self._size += len(line)

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self.max_file > 1:
            ext = ".gz" if self.compress else ""
            last = Path(f"{self.path}.{self.max_file - 1}{ext}")
            last.unlink(missing_ok=True)
            for i in range(self.max_file - 2, 0, -1):
                src = Path(f"{self.path}.{i}{ext}")
                if src.exists():
                    os.replace(src, f"{self.path}.{i + 1}{ext}")
            if self.compress:
                with open(self.path, "rb") as src, gzip.open(f"{self.path}.1.gz", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                self.path.unlink()
            else:
                os.replace(self.path, f"{self.path}.1")
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        else:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, 0o640)
        self._size = 0

    def close(self) -> None:
        self.flush()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
