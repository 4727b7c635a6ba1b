"""pycompose's compose layer: the compose-spec model and the CLI.

Knows compose files, nothing of the kernel: it drives the engine only through
``engine.api``. See docs/ARCHITECTURE.md for the module map.
"""
__version__ = "0.1.0"
