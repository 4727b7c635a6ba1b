"""``docker import --change`` instructions applied to an image config.

``docker import -c 'CMD ["sh"]' -c 'ENV A=b'`` takes a few Dockerfile
instructions; this applies them to the ``config`` object of a new image.
"""
from __future__ import annotations

import json
import shlex

from engine.errors import InvalidArgument

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def _exec_form(arg: str) -> list[str]:
    """JSON array form as is; shell form wrapped in ``/bin/sh -c`` like Dockerfile does."""
    s = arg.strip()
    if s.startswith("["):
        try:
            v = json.loads(s)
        except ValueError:
            v = None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return ["/bin/sh", "-c", s]


def _pairs(arg: str, what: str) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` (or the legacy ``K V`` form) into pairs."""
    try:
        words = shlex.split(arg)
    except ValueError as e:
        raise InvalidArgument(f"{what}: {e}") from None
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise InvalidArgument(f"{what} requires at least one argument")
        return [(words[0], arg.strip()[len(words[0]):].strip())]
    out = []
    for w in words:
        if "=" not in w:
            raise InvalidArgument(f"{what} names can not be blank: {w!r} has no '='")
        k, v = w.split("=", 1)
        if not k:
            raise InvalidArgument(f"{what} names can not be blank")
        out.append((k, v))
    return out


def apply_changes(config: dict, changes: list[str] | None) -> dict:
    """Return a copy of ``config`` with the instructions in ``changes`` applied."""
    cfg = json.loads(json.dumps(config or {}))
    for change in changes or []:
        parts = change.strip().split(None, 1)
        if not parts:
            continue
        instr = parts[0].upper()
        arg = parts[1] if len(parts) > 1 else ""
        if instr not in SUPPORTED:
            raise InvalidArgument(f"{parts[0]} is not a valid change command")
        if instr == "CMD":
            cfg["Cmd"] = _exec_form(arg)
        elif instr == "ENTRYPOINT":
            cfg["Entrypoint"] = _exec_form(arg)
        elif instr == "ENV":
            env = [e for e in cfg.get("Env") or []]
            for k, v in _pairs(arg, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            cfg["Env"] = env
        elif instr == "LABEL":
            labels = dict(cfg.get("Labels") or {})
            labels.update(dict(_pairs(arg, "LABEL")))
            cfg["Labels"] = labels
        elif instr == "EXPOSE":
            ports = dict(cfg.get("ExposedPorts") or {})
            for p in arg.split():
                if "/" not in p:
                    p += "/tcp"
                num, proto = p.split("/", 1)
                if not num.replace("-", "").isdigit() or proto not in ("tcp", "udp", "sctp"):
                    raise InvalidArgument(f"invalid containerPort: {p}")
                ports[p] = {}
            cfg["ExposedPorts"] = ports
        elif instr == "VOLUME":
            vols = dict(cfg.get("Volumes") or {})
            v = _exec_form(arg) if arg.strip().startswith("[") else arg.split()
            if v[:2] == ["/bin/sh", "-c"]:
                v = arg.split()
            for p in v:
                vols[p] = {}
            cfg["Volumes"] = vols
        elif instr == "USER":
            cfg["User"] = arg.strip()
        elif instr == "WORKDIR":
            cfg["WorkingDir"] = arg.strip()
        elif instr == "STOPSIGNAL":
            cfg["StopSignal"] = arg.strip()
        elif instr == "ONBUILD":
            cfg["OnBuild"] = (cfg.get("OnBuild") or []) + [arg.strip()]
    return cfg
