"""Building images from Dockerfiles on our own engine (front end, executor, cache)."""

__all__: list[str] = []  # a package of modules: callers reach builds through engine.api (Images.build); the modules are internal
