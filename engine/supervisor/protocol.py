"""The wire format between the client and the daemon: one JSON object per line.

Request ``{"op": "start", "id": ...}``; reply ``{"ok": true, ...}`` or
``{"ok": false, "error": "Conflict", "message": "..."}`` which the client
turns back into the same ``engine.errors`` class. Streams (events) send one
object per line until either side closes.
"""
from __future__ import annotations

import json
import math
import signal as _signal

from engine import errors
from engine.errors import EngineError, InvalidArgument

MAX_LINE = 1 << 20


def encode(obj: dict) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> dict:
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise InvalidArgument(f"malformed supervisor message: {e}") from None
    except RecursionError:
        raise InvalidArgument("malformed supervisor message: nested too deeply") from None
    if not isinstance(obj, dict):
        raise InvalidArgument("malformed supervisor message: not an object")
    return obj


_NUMBER = (int, float)
# the type each request field may have; anything else is refused before an operation sees it
_FIELDS: dict[str, tuple[type, ...]] = {
    "op": (str,), "id": (str,), "signal": (str, int, type(None)), "timeout": _NUMBER + (type(None),),
    "condition": (str, type(None)), "filters": (dict, type(None)), "since": _NUMBER + (type(None),),
    "until": _NUMBER + (type(None),), "event": (dict,), "status": (bool, type(None)),
}
_NEEDS_ID = frozenset({"start", "stop", "kill", "restart", "pause", "unpause", "wait"})


def check_request(req: dict) -> None:
    """Refuse a request whose fields have the wrong type, or that lacks the container it names,
    with InvalidArgument: a malformed request is answered, never a crash of the operation."""
    for key, types in _FIELDS.items():
        if key not in req:
            continue
        v = req[key]
        if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise InvalidArgument(f"invalid supervisor request: {key!r} must be {expected}, "
                                  f"not {type(v).__name__}")
        if isinstance(v, float) and not math.isfinite(v):
            raise InvalidArgument(f"invalid supervisor request: {key!r} must be a finite number")
    op = req.get("op")
    if op in _NEEDS_ID:
        cid = req.get("id")
        if not cid or len(cid) > 255 or "\0" in cid or "/" in cid.lstrip("/"):
            raise InvalidArgument(f"invalid supervisor request: {op} needs a container id or name, "
                                  f"got {cid!r}"[:300])


def error_reply(exc: BaseException) -> dict:
    if isinstance(exc, EngineError):
        name = type(exc).__name__ if hasattr(errors, type(exc).__name__) else "EngineError"
        reply = {"ok": False, "error": name, "message": str(exc)}
        if hasattr(exc, "status"):
            reply["status"] = exc.status
            reply["error"] = type(exc).__name__
        return reply
    if isinstance(exc, OSError) and exc.strerror:  # e.g. a full disk: what the system said, and where
        where = f": {exc.filename}" if exc.filename else ""
        return {"ok": False, "error": "EngineError", "message": f"{exc.strerror}{where}"}
    return {"ok": False, "error": "EngineError", "message": f"supervisor: {type(exc).__name__}: {exc}"}


def raise_reply(reply: dict) -> dict:
    """Return a successful reply, or raise the engine error it carries."""
    if reply.get("ok"):
        return reply
    name = reply.get("error") or "EngineError"
    message = reply.get("message") or "supervisor request failed"
    if name == "StartError":
        from engine.runtime.errors import StartError

        raise StartError(message, int(reply.get("status") or 125))
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, EngineError)):
        cls = EngineError
    raise cls(message)


def signal_number(sig) -> int:
    """``SIGTERM``/``TERM``/``15``/15 -> 15; InvalidArgument with Docker's message otherwise."""
    if isinstance(sig, int) and not isinstance(sig, bool):
        if 0 < sig < 65:
            return sig
        raise InvalidArgument(f"Invalid signal: {sig}")
    s = str(sig).strip().upper()
    if s.isdigit():
        return signal_number(int(s))
    if not s.startswith("SIG"):
        s = "SIG" + s
    if s.startswith("SIGRTMIN") or s.startswith("SIGRTMAX"):
        base = int(_signal.SIGRTMIN if s.startswith("SIGRTMIN") else _signal.SIGRTMAX)
        off = s[8:]
        try:
            return base + (int(off) if off else 0)
        except ValueError:
            raise InvalidArgument(f"Invalid signal: {sig}") from None
    try:
        return int(getattr(_signal.Signals, s))
    except AttributeError:
        raise InvalidArgument(f"Invalid signal: {sig}") from None


def signal_name(num: int) -> str:
    try:
        return _signal.Signals(num).name
    except ValueError:
        return str(num)
