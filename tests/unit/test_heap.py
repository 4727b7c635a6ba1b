"""bulk_buffers: inside the block, 1 MiB buffers are reused instead of faulted in anew."""
from __future__ import annotations

import resource
import threading

from engine import heap


def _faults_of_churn(rounds: int = 40, held: int = 8) -> int:
    """Page faults of a thread that, ``rounds`` times, fills ``held`` 1 MiB buffers and frees them
    all (as a pull's threads do with their chunks)."""
    out = []

    def churn():
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        for _ in range(rounds):
            bufs = [bytearray(1 << 20) for _ in range(held)]   # zeroed: every page touched
            del bufs
        out.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

    t = threading.Thread(target=churn)
    t.start()
    t.join()
    return out[0]


REUSED = """
import sys
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
from engine import heap
from test_heap import _faults_of_churn
outside = _faults_of_churn()
with heap.bulk_buffers():
    inside = _faults_of_churn()
print(outside, inside)
"""


def test_big_buffers_are_reused_inside_the_block():
    """In a fresh interpreter: glibc's thresholds are process-wide, and earlier tests change them."""
    outside, inside = map(int, _fresh(REUSED).split())
    pages = 40 * 8 * 256
    assert outside > pages / 2, (outside, pages)         # given back and faulted in again
    assert inside < outside / 5, (inside, outside)


def _fresh(code: str) -> str:
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve()
    return subprocess.run([sys.executable, "-c", code, str(here.parents[2]), str(here.parent)],
                          capture_output=True, text=True, check=True).stdout


def test_blocks_nest():
    with heap.bulk_buffers():
        with heap.bulk_buffers():
            pass
        assert heap._users == 1
    assert heap._users == 0


GIVEN_BACK = """
import sys, threading
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
from engine import heap
from test_heap import _faults_of_churn, _rss_kib
base = _rss_kib()
with heap.bulk_buffers():
    _faults_of_churn(rounds=1, held=64)     # a thread that leaves 64 MiB free in the heap
    inside = _rss_kib()
print(base, inside, _rss_kib())
"""


def test_memory_is_given_back_after_the_block():
    """In a fresh interpreter (no thread arenas left over by other tests to be reused)."""
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve()
    out = subprocess.run([sys.executable, "-c", GIVEN_BACK, str(here.parents[2]), str(here.parent)],
                         capture_output=True, text=True, check=True).stdout
    base, inside, after = map(int, out.split())
    assert inside > base + 60 * 1024, (base, inside)     # the buffers were kept during the block
    assert after < base + 8 * 1024, (base, inside, after)


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
