"""Keep big buffers in the heap while bulk bytes flow through this process (a pull).

A pull moves every layer through 1 MiB buffers: socket reads, the gunzip output, the
unpacker's reads, in a few threads at once. glibc serves each from ``mmap`` or from a
thread's arena whose top it gives back to the kernel as soon as 2 MiB are free, so the
same memory is faulted in and zeroed again for every chunk: some 55,000 page faults and
0.2 s of system time for 100 MB here, more than the downloads' own work. With higher
mmap and trim thresholds the buffers are reused in place (26,000 faults, cold pull of
100 MB 0.50 -> 0.35 s). ``bulk_buffers()`` raises them for its block, and threads that
start inside it share the main arena, the one ``malloc_trim`` can shrink whole (a thread
arena's free top stays mapped: 85 MB kept after a pull). When the last block in the
process ends, the free memory goes back to the kernel (RSS after a pull 40 MB, as before
the tuning) and the thresholds become those glibc's own adjustment reaches once it has
freed 1 MiB buffers (setting them switches that adjustment off for good, so its start-up
values would be worse). Nothing happens where the C library is not glibc.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

__all__ = ["bulk_buffers"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8   # mallopt parameters (malloc.h)
BULK_MMAP, BULK_TRIM = 32 << 20, 256 << 20           # glibc's largest dynamic mmap threshold; 8x it
AFTER_MMAP, AFTER_TRIM = 2 << 20, 4 << 20            # above a freed 1 MiB buffer; trim twice that

_lock = threading.Lock()
_users = 0


def _libc():
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def _set(mmap_threshold: int, trim_threshold: int, arenas: int, trim: bool = False) -> None:
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)
        libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)
        if trim:
            libc.malloc_trim(0)


@contextlib.contextmanager
def bulk_buffers() -> Iterator[None]:
    """Big buffers stay in the heap inside the block (blocks in several threads nest)."""
    global _users
    with _lock:
        _users += 1
        if _users == 1:
            _set(BULK_MMAP, BULK_TRIM, 1)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _set(AFTER_MMAP, AFTER_TRIM, 8 * (os.cpu_count() or 1), trim=True)   # glibc's default arena limit
