"""``network ls --filter`` / ``network prune --filter`` semantics of Docker, pure."""
from __future__ import annotations

from datetime import datetime, timezone

from engine import values
from engine.errors import InvalidArgument

LIST_KEYS = {"name", "id", "label", "driver", "dangling", "type", "scope"}
PRUNE_KEYS = {"label", "label!", "until"}


def _labels_match(labels: dict, want: list[str], negate: bool = False) -> bool:
    for w in want:
        k, eq, v = w.partition("=")
        hit = k in labels and (not eq or labels[k] == v)
        if hit == negate:
            return False
    return True


def _norm(filters: dict) -> dict[str, list[str]]:
    out = {}
    for k, v in (filters or {}).items():
        out[k] = [v] if isinstance(v, str) else list(v)
    return out


def match_network(view: dict, filters: dict) -> bool:
    f = _norm(filters)
    bad = set(f) - LIST_KEYS
    if bad:
        raise InvalidArgument(f"invalid filter '{sorted(bad)[0]}'")
    if "name" in f and not any(x in view["Name"] for x in f["name"]):
        return False
    if "id" in f and not any(view["Id"].startswith(x) for x in f["id"]):
        return False
    if "driver" in f and view["Driver"] not in f["driver"]:
        return False
    if "scope" in f and view["Scope"] not in f["scope"]:
        return False
    if "label" in f and not _labels_match(view.get("Labels") or {}, f["label"]):
        return False
    builtin = view["Name"] in ("bridge", "host", "none")
    if "type" in f:
        for t in f["type"]:
            if t not in ("custom", "builtin"):
                raise InvalidArgument(f"invalid filter: 'type'='{t}'")
        if ("builtin" if builtin else "custom") not in f["type"]:
            return False
    if "dangling" in f:
        vals = {x.lower() for x in f["dangling"]}
        if not vals <= {"true", "false", "1", "0"}:
            raise InvalidArgument(f"invalid filter 'dangling={f['dangling'][0]}'")
        dangling = not builtin and not view.get("Containers")
        if (dangling and not vals & {"true", "1"}) or (not dangling and not vals & {"false", "0"}):
            return False
    return True


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """Docker's ``until``: a duration (``10m``, ``2h``) before now, a unix time, or an RFC 3339 date."""
    now_ns = None if now is None else int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
    try:
        ns = values.parse_timestamp(text, now_ns)
    except ValueError:
        raise InvalidArgument(f"invalid filter 'until={text}': not a duration, timestamp or date") from None
    return datetime.fromtimestamp(ns / 1e9, timezone.utc)


def match_prune(view: dict, filters: dict) -> bool:
    f = _norm(filters)
    bad = set(f) - PRUNE_KEYS
    if bad:
        raise InvalidArgument(f"invalid filter '{sorted(bad)[0]}'")
    labels = view.get("Labels") or {}
    if "label" in f and not _labels_match(labels, f["label"]):
        return False
    if "label!" in f and not _labels_match(labels, f["label!"], negate=True):
        return False
    if "until" in f:
        created = datetime.fromtimestamp(values.parse_rfc3339(view["Created"]) / 1e9, timezone.utc)
        if not all(created < parse_until(u) for u in f["until"]):
            return False
    return True
