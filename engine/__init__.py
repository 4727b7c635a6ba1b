"""pycompose's container engine: images, containers, networks, volumes.

Knows nothing of compose files. The compose layer (and the engine CLI) use it
only through ``engine.api``. See docs/ARCHITECTURE.md for the module map.
"""

__all__: list[str] = []  # a package of modules: the front door is engine.api; everything else is the engine's own
