"""pycompose's container engine: images, containers, networks, volumes.

Knows nothing of compose files. The compose layer (and the engine CLI) use it
only through ``engine.api``. See docs/ARCHITECTURE.md for the module map.
"""
