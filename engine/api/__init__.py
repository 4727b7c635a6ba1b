"""The engine's front door: ``Engine(root)`` with ``.images .containers .volumes .networks .events()``.

Why one front door: compose/ and the engine CLI talk only to this package, in Docker Engine API
shapes (Docker's JSON field names), so the Docker API reference documents every dict that crosses
it and the kernel side can change behind it. Container records live on disk
(``engine.containers.ContainerStore``); everything that needs a live process (start, stop, kill,
pause, wait, events) goes through the supervisor daemon (``engine.supervisor.client``), so
containers outlive the command that started them. One module per resource: facade (Engine),
images, containers, volumes, networks, builds, registry; names not in ``__all__`` are internal.
"""
from engine.api.facade import Engine

__all__ = ["Engine", "Images", "Containers", "Volumes", "Networks", "LogEntry", "progress_text",
           "build_progress_renderer"]

_LAZY = {  # name -> module: imported on first use, so ``ps`` and ``--version`` load none of them
    "Images": "engine.api.images",
    "Containers": "engine.api.containers",
    "Volumes": "engine.api.volumes",
    "Networks": "engine.api.networks",
    "LogEntry": "engine.logs",  # part of the contract; engine.logs pulls in ctypes and gzip
    "progress_text": "engine.jsonmessage",  # docker's progress-bar text of a pull/push message
    "build_progress_renderer": "engine.api.builds",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'engine.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
