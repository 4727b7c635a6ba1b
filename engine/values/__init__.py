"""Value types shared by compose/ and engine/: durations, sizes, times, Docker's human texts.

WHY one package: a duration written in a compose file reaches the container through the
loader, the converter and the engine CLI; each used to read it its own way, with different
units. Here is the one reader and the one writer of each, with no project imports, so both
halves (and their tests) may use it. Parsers raise ``ValueError`` subclasses carrying a
``kind`` (what was wrong) so each caller words the error for its own user.

Each name is imported from its module on first use: ``container run`` reads a size or a
duration at most, and the time parsers' imports (calendar, datetime, locale) cost it ~1 ms.
"""
from __future__ import annotations

__all__ = ["DurationError", "SizeError", "format_duration", "format_rfc3339_nano", "human_duration",
           "parse_duration", "parse_rfc3339", "parse_size", "parse_timestamp"]

_MODULE_OF = {  # name -> the module defining it
    "DurationError": "durations", "format_duration": "durations", "parse_duration": "durations",
    "human_duration": "humanize", "SizeError": "sizes", "parse_size": "sizes",
    "format_rfc3339_nano": "times", "parse_rfc3339": "times", "parse_timestamp": "times",
}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.values' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"engine.values.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
