"""httpx, imported without the parts the engine never uses (``from engine.registry.httpstack import httpx``).

httpx imports its command-line client (click, rich, pygments) and httpcore imports trio
(for async code under trio) and h2 (HTTP/2) whenever they are installed: together a few
hundred ms of every pull's start-up. They are hidden for the duration of the import only;
h2 is then imported by httpx/httpcore themselves when an https client asks for HTTP/2 (a
plain-HTTP registry on loopback never does). Only the
modules that talk HTTP import this, so ``engine.registry.quick`` (a warm pull) never does.
It also sets the size of httpcore's socket reads (below).
"""
import sys


def _import_http_stack() -> None:
    if "httpcore" in sys.modules or "httpx" in sys.modules:
        return
    hidden = [m for m in ("httpx._main", "trio", "h2") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes "import m" raise ImportError
    try:
        import httpcore  # noqa: F401
        import httpx  # noqa: F401
    finally:
        for m in hidden:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]


_import_http_stack()

import httpx  # noqa: E402
from httpcore._sync.http11 import HTTP11Connection  # noqa: E402

# httpcore reads a response 64 KiB at a time; a layer blob is megabytes, and every read is a
# round of h11 events, a GIL hand-off and a chunk down the unpack pipe: 1 MiB reads (what the
# socket has, up to that) make those 16 times fewer for the same bytes.
HTTP11Connection.READ_NUM_BYTES = 1 << 20

__all__ = ["httpx"]
