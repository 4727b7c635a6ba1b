"""The container events the API itself causes (create, destroy, rename, commit), in Docker's shape."""
from __future__ import annotations

import time
from typing import Any

from engine import containerview as view


def container_event(action: str, rec: dict, **attrs: Any) -> dict:
    t = time.time_ns()
    labels = (rec.get("Config") or {}).get("Labels") or {}
    return {"Type": "container", "Action": action, "status": action, "id": rec["Id"], "from": view.image_name(rec),
            "Actor": {"ID": rec["Id"], "Attributes": {**labels, "image": view.image_name(rec),
                                                      "name": rec["Name"].lstrip("/"), **attrs}},
            "scope": "local", "time": t // 10**9, "timeNano": t}
