"""Value types shared by compose/ and engine/: durations, sizes, times, Docker's human texts.

WHY one package: a duration written in a compose file reaches the container through the
loader, the converter and the engine CLI; each used to read it its own way, with different
units. Here is the one reader and the one writer of each, with no project imports, so both
halves (and their tests) may use it. Parsers raise ``ValueError`` subclasses carrying a
``kind`` (what was wrong) so each caller words the error for its own user.
"""
from engine.values.durations import DurationError, format_duration, parse_duration
from engine.values.humanize import human_duration
from engine.values.sizes import SizeError, parse_size
from engine.values.times import format_rfc3339_nano, parse_rfc3339, parse_timestamp

__all__ = ["DurationError", "SizeError", "format_duration", "format_rfc3339_nano", "human_duration",
           "parse_duration", "parse_rfc3339", "parse_size", "parse_timestamp"]
