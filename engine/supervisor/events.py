"""Docker events: building them, keeping a short history on disk, and Docker's filters.

History goes to ``$ROOT/run/events.jsonl`` so ``events --since`` works for
events from before the caller subscribed (Docker keeps the last 256 in
memory; we keep the last ``KEEP`` on disk so a restarted supervisor still
has them).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from engine.values import parse_timestamp
from engine.errors import InvalidArgument

KEEP = 1000
FUZZY_EVENTS = ("health_status", "exec_create", "exec_start")
FILTER_KEYS = ("container", "event", "image", "label", "type", "scope", "name", "daemon", "network",
               "volume", "plugin", "node", "service", "secret", "config")


def container_event(action: str, record: dict, **attrs: Any) -> dict:
    """A Docker container event for ``record`` (labels, image and name in the attributes)."""
    t = time.time_ns()
    cfg = record.get("Config") or {}
    image = record.get("ImageRef") or cfg.get("Image") or record.get("Image") or ""
    attributes = {**(cfg.get("Labels") or {}), "image": image, "name": (record.get("Name") or "").lstrip("/")}
    attributes.update({k: str(v) for k, v in attrs.items()})
    return {"status": action, "id": record["Id"], "from": image, "Type": "container", "Action": action,
            "Actor": {"ID": record["Id"], "Attributes": attributes}, "scope": "local",
            "time": t // 1_000_000_000, "timeNano": t}


def since_until_ns(value: Any, now_ns: int | None = None) -> int | None:
    """Docker's --since/--until: unix seconds (``1700000000.5``), RFC 3339, a date, or a duration
    before now (``10m``, ``1h30m``) -> unix nanoseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value * 1_000_000_000
    text = repr(value) if isinstance(value, float) else str(value)  # repr: no binary rounding
    try:
        return parse_timestamp(text, now_ns)
    except ValueError:
        raise InvalidArgument(f"invalid time {value!r}: use a unix timestamp, RFC 3339 date or a duration "
                              "like 10m") from None


def check_filters(filters: dict | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not isinstance(filters, (dict, type(None))):
        raise InvalidArgument("invalid filters: expected an object of filter names")
    for key, values in (filters or {}).items():
        if key not in FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, (list, tuple, dict)) or not all(isinstance(v, str) for v in values):
            raise InvalidArgument(f"invalid filter '{key}': expected strings")
        out[key] = list(values)
    return out


def check_event(ev: Any) -> dict:
    """An event handed in by a client (``notify``) in the shape every reader expects, else
    InvalidArgument: one odd event in the history must not break ``events --since`` later."""
    actor = ev.get("Actor") if isinstance(ev, dict) else None
    ok = (isinstance(ev, dict) and isinstance(ev.get("Type"), str) and isinstance(ev.get("Action"), str)
          and isinstance(actor, dict) and isinstance(actor.get("ID"), str)
          and isinstance(actor.get("Attributes", {}), dict)
          and all(isinstance(k, str) and isinstance(v, str) for k, v in actor.get("Attributes", {}).items())
          and all(isinstance(ev.get(k, 0), int) and not isinstance(ev.get(k, 0), bool) for k in ("time", "timeNano")))
    if not ok:
        raise InvalidArgument("notify needs a Docker event: Type, Action, Actor{ID, Attributes{str: str}}, "
                              "integer time/timeNano")
    return ev


def matches(event: dict, filters: dict[str, list[str]]) -> bool:
    """Docker's event filter: every key must match one of its values."""
    actor = event.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    for key, values in filters.items():
        if not values:
            continue
        if key == "type":
            ok = event.get("Type") in values
        elif key == "event":
            action = event.get("Action") or ""
            if any(v in FUZZY_EVENTS for v in values):
                ok = any(action.startswith(v) for v in values)
            else:
                ok = action in values
        elif key in ("container", "name"):
            ok = any(actor.get("ID", "").startswith(v) or attrs.get("name") == v.lstrip("/") for v in values)
        elif key == "image":
            img = attrs.get("image") or event.get("from") or ""
            ok = any(img == v or img.split(":")[0] == v.split(":")[0] and ":" not in v for v in values)
        elif key == "label":
            ok = all(_label_ok(attrs, v) for v in values)
        elif key == "scope":
            ok = (event.get("scope") or "local") in values
        elif key in ("network", "volume"):
            ok = event.get("Type") == key and (actor.get("ID") in values or attrs.get("name") in values)
        else:
            ok = False
        if not ok:
            return False
    return True


def _label_ok(attrs: dict, spec: str) -> bool:
    key, eq, value = spec.partition("=")
    if not eq:
        return key in attrs
    return attrs.get(key) == value


class EventLog:
    """Appends events to the history file and reads them back for ``since``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lines = self._count()

    def _count(self) -> int:
        try:
            with open(self.path, "rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def append(self, event: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._lines += 1
        if self._lines > 2 * KEEP:
            self._trim()

    def _trim(self) -> None:
        from engine.state import atomic_write

        with open(self.path, "rb") as f:
            lines = f.readlines()[-KEEP:]
        atomic_write(self.path, b"".join(lines))
        self._lines = len(lines)

    def history(self, since_ns: int, until_ns: int | None, filters: dict[str, list[str]]) -> list[dict]:
        out = []
        try:
            with open(self.path, "rb") as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue  # a line cut by a crash
                    t = int(ev.get("timeNano") or 0)
                    if t < since_ns or (until_ns is not None and t > until_ns):
                        continue
                    if matches(ev, filters):
                        out.append(ev)
        except FileNotFoundError:
            pass
        return out
