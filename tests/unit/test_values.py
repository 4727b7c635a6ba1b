"""engine.values: the one reader/writer of durations, sizes, times and Docker's human texts.

Expected values are Go's and docker/go-units' answers for the same inputs.
"""
from __future__ import annotations

import calendar
import time

import pytest

from engine.values import (DurationError, SizeError, format_duration, format_rfc3339_nano, human_duration,
                           parse_duration, parse_rfc3339, parse_size, parse_timestamp)

S = 1_000_000_000
NOW = 1_800_000_000 * S


@pytest.mark.parametrize("text, ns", [
    ("0", 0), ("+0", 0), ("-0", 0), ("1s", S), ("1.5s", 1_500_000_000), ("-1.5h", -5400 * S),
    ("1h2m3.5s", 3723 * S + S // 2), ("500ms", 500_000_000), ("10us", 10_000), ("10\u00b5s", 10_000),
    ("10\u03bcs", 10_000), ("7ns", 7), (".5s", S // 2), ("5.s", 5 * S), ("1m30s", 90 * S),
    ("0.3333333333333s", 333_333_333), ("2562047h47m16.854775807s", (1 << 63) - 1),
])
def test_go_durations(text, ns):
    assert parse_duration(text) == ns


PARSERS = {"duration": (parse_duration, DurationError), "size": (parse_size, SizeError)}


@pytest.mark.parametrize("value, text, kind, message", [
    ("duration", "", "empty", 'time: invalid duration ""'),
    ("duration", "-", "empty", 'time: invalid duration "-"'),
    ("duration", "1", "missing unit", 'time: missing unit in duration "1"'),
    ("duration", "1h30", "missing unit", 'time: missing unit in duration "1h30"'),
    ("duration", "1x", "unknown unit", 'time: unknown unit "x" in duration "1x"'),
    ("duration", "1S", "unknown unit", 'time: unknown unit "S" in duration "1S"'),
    ("duration", "1d", "unknown unit", 'time: unknown unit "d" in duration "1d"'),
    ("duration", "x1s", "invalid", 'time: invalid duration "x1s"'),
    ("duration", ".s", "invalid", 'time: invalid duration ".s"'),
    ("duration", "1h 30m", "unknown unit", 'time: unknown unit "h " in duration "1h 30m"'),
    ("duration", "2562047h47m16.854775808s", "invalid", 'time: invalid duration "2562047h47m16.854775808s"'),
    ("size", "lots", "no number", "invalid size: 'lots'"),
    ("size", "", "no number", "invalid size: ''"),
    ("size", "-1", "negative", "invalid size: '-1'"),
    ("size", "1.2.3k", "not a number", 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ("size", " 1k", "not a number", 'strconv.ParseFloat: parsing " 1": invalid syntax'),
    ("size", "12x", "suffix", "invalid suffix: 'x'"),
    ("size", "1kk", "suffix", "invalid suffix: 'kk'"),
    ("size", "1bb", "suffix", "invalid suffix: 'bb'"),
    ("size", "1kibb", "suffix", "invalid suffix: 'kibb'"),
])
def test_bad_values_say_what_go_says(value, text, kind, message):
    parse, error = PARSERS[value]
    with pytest.raises(error) as err:
        parse(text)
    assert (err.value.kind, str(err.value)) == (kind, message)
    assert isinstance(err.value, ValueError)


def test_compose_durations_add_days_and_weeks():
    assert parse_duration("1d", extended=True) == 86_400 * S
    assert parse_duration("1w2d3h", extended=True) == (9 * 86_400 + 3 * 3600) * S
    with pytest.raises(DurationError, match='unknown unit "y"'):
        parse_duration("1y", extended=True)


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (1, "1ns"), (1_500, "1.5\u00b5s"), (1_500_000, "1.5ms"), (S, "1s"), (90 * S, "1m30s"),
    (3600 * S, "1h0m0s"), (3723 * S + S // 2, "1h2m3.5s"), (-90 * S, "-1m30s"), (168 * 3600 * S, "168h0m0s"),
    (1_234_567, "1.234567ms"),
])
def test_go_duration_strings(ns, text):
    assert format_duration(ns) == text
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text, size", [
    ("0", 0), ("100", 100), ("1b", 1), ("1k", 1024), ("1K", 1024), ("1kb", 1024), ("1KiB", 1024),
    ("512m", 512 << 20), ("1.5g", 3 << 29), ("64MB", 64 << 20), ("2GiB", 2 << 30), ("1t", 1 << 40),
    ("1p", 1 << 50), ("1 k", 1024), ("1e3", 1000), ("10.", 10),
])
def test_ram_in_bytes(text, size):
    assert parse_size(text) == size


def test_decimal_sizes_are_from_human_size():
    assert parse_size("1k", decimal=True) == 1000
    assert parse_size("1.5MB", decimal=True) == 1_500_000


@pytest.mark.parametrize("text, ns", [
    ("2026-01-01T00:00:00Z", 1_767_225_600 * S),
    ("2026-01-01T01:00:00+01:00", 1_767_225_600 * S),
    ("2025-12-31T23:00:00-01:00", 1_767_225_600 * S),
    ("2026-01-01T00:00:00.123456789Z", 1_767_225_600 * S + 123_456_789),
    ("2026-01-01T00:00:00.5Z", 1_767_225_600 * S + 500_000_000),
    ("2026-01-01T00:00:00.1234567891Z", 1_767_225_600 * S + 123_456_789),
    ("1970-01-01T00:00:00Z", 0),
])
def test_rfc3339(text, ns):
    assert parse_rfc3339(text) == ns


@pytest.mark.parametrize("text", ["", "yesterday", "2026-01-01", "2026-01-01T00:00:00", "2026-02-30T00:00:00Z",
                                  "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z"])
def test_bad_rfc3339(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_rfc3339_round_trip_with_nine_digits():
    ns = 1_767_225_600 * S + 1_000
    assert format_rfc3339_nano(ns) == "2026-01-01T00:00:00.000001000Z"
    assert parse_rfc3339(format_rfc3339_nano(ns)) == ns


def _local(*fields) -> int:
    return int(time.mktime((*fields, 0, 0, -1))) * S


@pytest.mark.parametrize("text, ns", [
    ("10m", NOW - 600 * S), ("1h30m", NOW - 5400 * S), ("-5s", NOW + 5 * S),
    ("1767225600", 1_767_225_600 * S), ("1767225600.5", 1_767_225_600 * S + S // 2), ("0", 0),
    ("2026-01-01T00:00:00Z", 1_767_225_600 * S), ("2026-01-01T00:00:00.25Z", 1_767_225_600 * S + S // 4),
    ("2026-01-01T01:00+01:00", 1_767_225_600 * S),
    ("2026-01-01", _local(2026, 1, 1, 0, 0, 0)), ("2026-01-01T10", _local(2026, 1, 1, 10, 0, 0)),
    ("2026-01-01T10:30", _local(2026, 1, 1, 10, 30, 0)),
])
def test_docker_timestamps(text, ns):
    assert parse_timestamp(text, NOW) == ns


@pytest.mark.parametrize("text", ["yesterday", "1d", "2026-01-01T99:00:00Z", "-1767225600", "1.2.3"])
def test_bad_docker_timestamps(text):
    with pytest.raises(ValueError):
        parse_timestamp(text, NOW)


@pytest.mark.parametrize("seconds, text", [
    (0, "Less than a second"), (0.9, "Less than a second"), (1, "1 second"), (59, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"),
    (3600, "About an hour"), (2 * 3600, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
    (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (60 * 86400, "2 months"), (2 * 365 * 86400, "2 years"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_epoch_is_utc_for_z_times():
    assert parse_rfc3339("2000-02-29T12:00:00Z") // S == calendar.timegm((2000, 2, 29, 12, 0, 0))
