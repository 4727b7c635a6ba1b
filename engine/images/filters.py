"""Docker's image filters and times: ``dangling=``, ``reference=``, ``label=``, ``before=``,
``since=`` for listing; ``until=`` for pruning; RFC 3339 times as image configs carry them.

Pure functions, kept apart from the store so listing rules read in one place.
"""
from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Callable

from engine.values import parse_rfc3339, parse_timestamp
from engine.errors import InvalidArgument

if TYPE_CHECKING:  # pragma: no cover
    from engine.images.record import ImageRecord

LIST_FILTERS = ("dangling", "reference", "label", "before", "since")


def created_seconds(s: str | None) -> float:
    """Unix time of an RFC 3339 timestamp as image configs carry it (nanoseconds allowed); 0 if none."""
    if not s:
        return 0.0
    try:
        return parse_rfc3339(s) / 1e9
    except ValueError:
        return 0.0


def parse_until(value: str, now: float | None = None) -> float:
    """docker's ``until=`` value: a unix timestamp, an RFC 3339 time, or a duration ago (``1h30m``)."""
    try:
        return parse_timestamp(str(value), None if now is None else int(now * 1e9)) / 1e9
    except ValueError:
        raise InvalidArgument(f"invalid until filter value {value!r}: use a timestamp or a duration such as 24h") \
            from None


def reference_matches(tag: str, pattern: str) -> bool:
    """docker's ``reference=`` filter: a glob against ``repo:tag`` or the repository alone."""
    repo = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
    return fnmatch.fnmatchcase(tag, pattern) or fnmatch.fnmatchcase(repo, pattern)


def is_dangling(rec: "ImageRecord") -> bool:
    """No tag and no repository digest: an image pulled by digest (``busybox@sha256:...``) is
    named by that digest, so, as with Docker's containerd image store, it is not dangling."""
    return not rec.refs and not rec.repo_digests


def matches(rec: "ImageRecord", filters: dict[str, list[str]], lookup: Callable[[str], "ImageRecord"]) -> bool:
    """True when ``rec`` passes every docker image filter (``lookup`` finds before=/since= images)."""
    for key, values in filters.items():
        if isinstance(values, str):
            values = [values]
        if not values:
            continue
        if key == "dangling":
            want = values[-1].lower() in ("1", "true")
            if want != is_dangling(rec):
                return False
        elif key == "reference":
            if not any(reference_matches(t, pat) for pat in values for t in rec.tags):
                return False
        elif key == "label":
            labels = rec.config.get("Labels") or {}
            for v in values:
                k, eq, val = v.partition("=")
                if k not in labels or (eq and labels[k] != val):
                    return False
        elif key in ("before", "since"):
            other = lookup(values[-1])
            if key == "before" and not rec.created_unix < other.created_unix:
                return False
            if key == "since" and not rec.created_unix > other.created_unix:
                return False
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return True
