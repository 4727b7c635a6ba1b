"""Images: content store, references, archive load/save, safe layer unpacking.

``ImageStore(root)`` is the entry point (see ``engine.images.store``); layers are
unpacked lazily and shared (``engine.images.layers``), safely (``engine.images.unpack``).
"""
from engine.images.record import ImageRecord
from engine.images.store import ImageStore

__all__ = ["ImageStore", "ImageRecord"]
