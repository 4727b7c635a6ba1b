"""``LazyParser``: a verb's argparse parser whose flags are added when that verb is used.

Why: ``pycompose container run`` would otherwise build every verb's flags, ``create``'s hundred
among them, before argparse picks ``run``; the parsers of the verbs not typed are never filled.
Flags are given either as ``fill(parser)`` or by ``add_argument`` calls made before the parser is
used, which are kept and replayed then (each costs argparse a formatter and a regex or two; the
~20 verbs of ``container`` made ~1.5 ms of every ``container run``). Help and usage fill the
parser first, so ``--help`` of any verb shows all of its flags.
"""
from __future__ import annotations

import argparse
from typing import Callable


class LazyParser(argparse.ArgumentParser):
    """An ArgumentParser (subparser) that adds its flags once, before it parses or prints: the
    ``add_argument`` calls made so far, in their order, then ``fill(self)``. A deferred
    ``add_argument`` returns None (nothing uses the action it would return)."""

    def __init__(self, *args, fill: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs):
        self._deferred: list[tuple[tuple, dict]] | None = []  # argparse's own -h first among them
        self._fill = fill
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        if self._deferred is None:
            return super().add_argument(*args, **kwargs)
        self._deferred.append((args, kwargs))
        return None

    def _filled(self) -> None:
        deferred, self._deferred = self._deferred, None
        fill, self._fill = self._fill, None
        for args, kwargs in deferred or ():
            super().add_argument(*args, **kwargs)
        if fill is not None:
            fill(self)

    def parse_known_args(self, args=None, namespace=None):
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._filled()
        return super().format_help()

    def format_usage(self) -> str:
        self._filled()
        return super().format_usage()
