"""Models as ``config --format json`` printed them (the oracle's expected.json, the hash
fixtures) read back into the form the loader gives every other module: sizes in bytes,
durations in nanoseconds and file modes as ints (compose.loader.output.go_texts reversed)."""
from __future__ import annotations

from compose.loader.gotypes import map_project, map_typed
from engine.values import parse_duration

_NUMBERS = {"UnitBytes": int, "Duration": lambda text: parse_duration(text, extended=True),
            "FileMode": lambda text: int(text, 8)}


def numeric_model(printed: dict) -> dict:
    """A whole printed project -> the loaded model."""
    return map_project(printed, _NUMBERS)


def numeric_service(printed: dict) -> dict:
    """One printed service -> the loaded model's service."""
    return map_typed(printed, "ServiceConfig", _NUMBERS)
