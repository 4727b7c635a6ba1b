"""Docker's healthcheck state machine (the daemon runs the probes; this decides what they mean).

Docker's rules (daemon/health.go): probes every Interval (StartInterval while
in the start period and not yet healthy), each limited by Timeout; exit 0 is
healthy and resets FailingStreak; a failure inside the start period does not
count; Retries consecutive failures make it unhealthy; the last 5 results are
kept with at most 4 KiB of output each.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidArgument

NS = 1_000_000_000
DEFAULT_INTERVAL = 30 * NS
DEFAULT_TIMEOUT = 30 * NS
DEFAULT_START_INTERVAL = 5 * NS
DEFAULT_RETRIES = 3
MAX_LOG = 5
MAX_OUTPUT = 4096
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"


@dataclass(frozen=True)
class HealthConfig:
    command: list[str]
    interval: int = DEFAULT_INTERVAL      # nanoseconds, like Docker's API
    timeout: int = DEFAULT_TIMEOUT
    start_period: int = 0
    start_interval: int = DEFAULT_START_INTERVAL
    retries: int = DEFAULT_RETRIES

    @classmethod
    def from_config(cls, config: dict | None, image_config: dict | None = None) -> "HealthConfig | None":
        """The container's check (fields it leaves at 0 or empty come from the image's), None when off."""
        own = (config or {}).get("Healthcheck") or {}
        img = (image_config or {}).get("Healthcheck") or {}
        test = own.get("Test") or img.get("Test") or []
        if not test or test[0] == "NONE":
            return None

        def pick(key: str, default: int) -> int:
            for src in (own, img):
                v = int(src.get(key) or 0)
                if v < 0:
                    raise InvalidArgument(f"Healthcheck {key} must not be negative")
                if v:
                    return v
            return default

        kind = test[0]
        if kind == "CMD":
            command = [str(a) for a in test[1:]]
        elif kind == "CMD-SHELL":
            command = ["/bin/sh", "-c", " ".join(str(a) for a in test[1:])]
        else:
            raise InvalidArgument(f"unknown Healthcheck type {kind!r}: use CMD, CMD-SHELL or NONE")
        if not command or not command[0]:
            raise InvalidArgument("Healthcheck test has no command")
        return cls(command, pick("Interval", DEFAULT_INTERVAL), pick("Timeout", DEFAULT_TIMEOUT),
                   pick("StartPeriod", 0), pick("StartInterval", DEFAULT_START_INTERVAL),
                   pick("Retries", DEFAULT_RETRIES))


def initial_health() -> dict:
    return {"Status": STARTING, "FailingStreak": 0, "Log": []}


def next_delay(cfg: HealthConfig, health: dict, started_ns: int, now_ns: int) -> int:
    """Nanoseconds until the next probe."""
    if health.get("Status") == STARTING and now_ns < started_ns + cfg.start_period:
        return cfg.start_interval
    return cfg.interval


def record_result(cfg: HealthConfig, health: dict, result: dict, started_ns: int, start_ns: int) -> dict:
    """The new State.Health after one probe ``result`` ({Start, End, ExitCode, Output})."""
    out = result.get("Output") or ""
    if len(out) > MAX_OUTPUT:
        out = out[:MAX_OUTPUT]
    entry = dict(result, Output=out)
    h = {"Status": health.get("Status") or STARTING, "FailingStreak": int(health.get("FailingStreak") or 0),
         "Log": (list(health.get("Log") or []) + [entry])[-MAX_LOG:]}
    if entry["ExitCode"] == 0:
        h["FailingStreak"] = 0
        h["Status"] = HEALTHY
        return h
    if h["Status"] == STARTING and start_ns - started_ns < cfg.start_period:
        return h  # failures while the container is still starting up do not count
    h["FailingStreak"] += 1
    if h["FailingStreak"] >= cfg.retries:
        h["Status"] = UNHEALTHY
    return h
