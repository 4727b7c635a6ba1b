"""Former home of the loader's size and duration readers, now in ``engine.values``.

Kept as names only, for modules written against it (``compose.build``, ``compose.pullpolicy``
before they import ``engine.values``); durations here take compose-go's ``d``/``w`` units.
"""
from __future__ import annotations

from functools import partial

from engine.values import format_duration, parse_duration as _parse_duration, parse_size

parse_duration = partial(_parse_duration, extended=True)
ram_in_bytes = parse_size

__all__ = ["format_duration", "parse_duration", "parse_size", "ram_in_bytes"]
