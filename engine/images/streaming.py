"""Unpack a layer while its blob is still arriving.

A pull used to write each layer blob to disk and only then read it back to unpack
it: the network, the decompression and the extraction took turns. Here the thread
that downloads a blob also feeds every chunk it writes into a ``Pipe``; a second
thread decompresses and unpacks that stream (the same safe unpacker, into the
layer's temp dir, under the layer's lock), or only computes the diff id when the
layer is to stay packed. Nothing is trusted early: the caller commits the layer only
after the blob's digest was verified and the unpacked content hashed to the diff id.
Whenever the stream cannot be trusted to be the blob (the download started over, the
blob was already stored, the unpack failed), ``finish`` returns None and the caller
unpacks the stored, verified blob as before, so errors read exactly as they did.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable

from engine.images import compression
from engine.images.layers import LayerCache, PendingLayer
from engine.images.unpack import unpack_stream

DEPTH = 32   # chunks buffered between the download and the unpack (up to 1 MiB each: httpstack)
_EOF, _ABORT = object(), object()


class _Abandoned(Exception):
    """The download started over: this stream is not the blob any more."""


class Pipe(compression.ChunkedReader):
    """Chunks from a producer thread to a reader thread, bounded so memory stays small."""

    def __init__(self, depth: int = DEPTH):
        self._q: queue.Queue = queue.Queue(depth)
        self._done = False
        self.fed = 0
        self.abandoned = False

    # --- producer side -------------------------------------------------------------------
    def write(self, chunk: bytes) -> None:
        if not self.abandoned:
            self.fed += len(chunk)
            self._q.put(chunk if type(chunk) is bytes else bytes(chunk))   # a view would change under us

    def end(self) -> None:
        self._q.put(_EOF)

    def abandon(self) -> None:
        if not self.abandoned:
            self.abandoned = True
            self._q.put(_ABORT)

    # --- reader side ---------------------------------------------------------------------
    def _next_chunk(self) -> bytes:
        if self._done:
            return b""
        item = self._q.get()
        if item is _EOF or item is _ABORT:
            self._done = True
            if item is _ABORT:
                raise _Abandoned()
            return b""
        return item

    def drain(self) -> None:
        """Take everything left until the producer ends (so it never blocks on a reader gone)."""
        self._chunk, self._pos = b"", 0
        while not self._done:
            item = self._q.get()
            self._done = item is _EOF or item is _ABORT

    def close(self) -> None:
        """Readers close what they read from; the producer ends the pipe with ``end``."""


class StreamedLayer:
    """The unpack (or, with ``layers`` None, the diff id) of one layer from its download.

    The download thread: ``start()``, ``write(chunk)`` per chunk, ``restart()`` when it
    starts over, ``finish()`` once the blob is verified, ``commit(...)``, and ``close()`` always.
    ``on_read(n)`` hears how many compressed bytes the unpacker has consumed."""

    def __init__(self, layers: LayerCache | None, diff_id: str, on_read: Callable[[int], None] | None = None):
        self.layers, self.diff_id = layers, diff_id
        self.on_read = on_read
        self.pipe = Pipe()
        self.pending: PendingLayer | None = None
        self.result: tuple[str, int] | None = None
        self.error: BaseException | None = None
        self.read = 0
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """False when there is nothing to do (the layer is unpacked already)."""
        if self.layers is not None:
            self.pending = self.layers.begin(self.diff_id)
            if self.pending is None:
                return False
        self._thread = threading.Thread(target=self._run, name="unpack-stream", daemon=True)
        self._thread.start()
        return True

    def write(self, chunk: bytes) -> None:
        self.pipe.write(chunk)

    def restart(self) -> None:
        self.pipe.abandon()

    def _count(self, n: int) -> None:
        self.read = n
        if self.on_read is not None:
            self.on_read(n)

    def _run(self) -> None:
        try:
            with compression.open_stream(compression.CountingReader(self.pipe, self._count)) as plain:
                if self.pending is not None:
                    self.result = unpack_stream(plain, self.pending.dir)
                else:
                    h = compression.HashingReader(plain)
                    h.drain()
                    self.result = (h.digest, h.size)
        except BaseException as e:  # noqa: BLE001 - decided on in finish()
            self.error = e
        finally:
            self.pipe.drain()

    def finish(self, expected_size: int | None = None,
               waiting: Callable[[int], None] | None = None) -> tuple[str, int] | None:
        """(diff id, size) of what was streamed, or None when the stored blob must be used instead.

        Call once the blob is verified; ``waiting(n)`` is called about every 0.1 s while the
        unpack catches up with the download."""
        self.pipe.end()
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.1)
                if waiting is not None and self._thread.is_alive():
                    waiting(self.read)
        if self.error is not None or self.pipe.abandoned or not self.pipe.fed:
            return None
        if expected_size and self.pipe.fed != expected_size:
            return None
        return self.result

    def commit(self, got: str) -> None:
        """Move the unpacked layer into place (raises InvalidArgument when ``got`` is not the diff id)."""
        if self.pending is not None:
            self.pending.commit(got)

    def close(self) -> None:
        """Stop the reader (if still running) and drop an uncommitted unpack."""
        if self._thread is not None and self._thread.is_alive():
            self.pipe.abandon()
            self.pipe.end()
            self._thread.join()
        if self.pending is not None:
            self.pending.close()
