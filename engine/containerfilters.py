"""Docker's /containers/json filters over container records (label, name, id, status, exited,
health, ancestor, volume, network, publish, expose): the messages and matching rules of dockerd."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from engine.containerview import FILTER_KEYS, HEALTH, STATUSES, image_name, mounts, state_name, volume_names
from engine.errors import InvalidArgument


def check_filters(filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """Normalise and validate /containers/json filters (Docker's messages)."""
    out: dict[str, list[str]] = {}
    for k, vals in (filters or {}).items():
        if k not in FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{k}'")
        vals = [vals] if isinstance(vals, str) else list(vals)
        if k == "status":
            for v in vals:
                if v not in STATUSES:
                    raise InvalidArgument(f"invalid filter 'status={v}'")
        if k == "health":
            for v in vals:
                if v not in HEALTH:
                    raise InvalidArgument(f"invalid filter 'health={v}'")
        if k == "exited":
            for v in vals:
                if not re.fullmatch(r"-?\d+", v):
                    raise InvalidArgument(f"invalid filter 'exited={v}'")
        out[k] = vals
    return out


def label_match(labels: dict, wanted: list[str]) -> bool:
    """Every ``key`` / ``key=value`` / ``key!=value`` in ``wanted`` holds."""
    for w in wanted:
        if "!=" in w:
            k, v = w.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in w:
            k, v = w.split("=", 1)
            if labels.get(k) != v:
                return False
        elif w not in labels:
            return False
    return True


def matches(rec: dict, flt: dict[str, list[str]], ancestor_ids: set[str] | None,
            network_names: Callable[[dict], set[str]] | None = None) -> bool:
    """Does a record (with ``State``) pass the filters? Values of one key OR, keys AND."""
    st = rec.get("State") or {}
    cfg = rec.get("Config") or {}
    if "label" in flt and not label_match(cfg.get("Labels") or {}, flt["label"]):
        return False
    if "name" in flt:
        name = rec["Name"]
        if not any(re.search(p, name) or re.search(p, name.lstrip("/")) for p in flt["name"]):
            return False
    if "id" in flt and not any(rec["Id"].startswith(p) for p in flt["id"]):
        return False
    if "status" in flt and state_name(st) not in flt["status"]:
        return False
    if "exited" in flt:
        if state_name(st) != "exited" or str(int(st.get("ExitCode") or 0)) not in flt["exited"]:
            return False
    if "health" in flt:
        h = (st.get("Health") or {}).get("Status") or "none"
        if h not in flt["health"]:
            return False
    if "ancestor" in flt:
        img = image_name(rec)
        ok = (rec.get("Image") in (ancestor_ids or set())) or img in flt["ancestor"] or any(
            (rec.get("Image") or "").startswith(a if a.startswith("sha256:") else "sha256:" + a) for a in flt["ancestor"]
            if re.fullmatch(r"(sha256:)?[0-9a-f]{6,64}", a))
        if not ok:
            return False
    if "volume" in flt:
        names = volume_names(rec)
        dests = {m["Destination"] for m in mounts(rec, Path("/"))}
        if not any(v in names or v in dests for v in flt["volume"]):
            return False
    if "network" in flt and network_names is not None:
        have = network_names(rec)
        if not any(n in have or any(h.startswith(n) for h in have if len(n) >= 6) for n in flt["network"]):
            return False
    if "publish" in flt or "expose" in flt:
        keys = set((cfg.get("ExposedPorts") or {}).keys())
        keys |= set(((rec.get("HostConfig") or {}).get("PortBindings") or {}).keys())
        for k in ("publish", "expose"):
            for v in flt.get(k, []):
                key = v if "/" in v else f"{v}/tcp"
                if key not in keys:
                    return False
    return True
