"""``LazyParser``: a verb's argparse parser whose flags are added when that verb is used.

Why: ``pycompose container run`` would otherwise build every verb's flags, ``create``'s hundred
among them, before argparse picks ``run``; the parsers of the verbs not typed are never filled.
Help and usage fill the parser first, so ``--help`` of any verb shows all of its flags.
"""
from __future__ import annotations

import argparse
from typing import Callable


class LazyParser(argparse.ArgumentParser):
    """An ArgumentParser (subparser) that calls ``fill(self)`` once, before it parses or prints."""

    def __init__(self, *args, fill: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._fill = fill

    def _filled(self) -> None:
        fill, self._fill = self._fill, None
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
