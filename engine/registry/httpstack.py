"""httpx, imported without the parts the engine never uses (``from engine.registry.httpstack import httpx``).

httpx imports its command-line client (click, rich, pygments) and httpcore imports trio
(for async code under trio) whenever they are installed: together a few hundred ms of
every pull's start-up. Both are hidden for the duration of the import only. Only the
modules that talk HTTP import this, so ``engine.registry.quick`` (a warm pull) never does.
"""
import sys


def _import_http_stack() -> None:
    if "httpcore" in sys.modules or "httpx" in sys.modules:
        return
    hidden = [m for m in ("httpx._main", "trio") if m not in sys.modules]
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

__all__ = ["httpx"]
