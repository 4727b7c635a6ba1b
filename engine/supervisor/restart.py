"""Docker's restart policies and back-off, as pure decisions the daemon applies.

Why pure: "on-failure:3 restarts exactly 3 times" and "100 ms doubling,
reset after 10 s of running" are easy to get subtly wrong; keeping them free
of processes lets the unit tests pin them down (moby's restartmanager).
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidArgument

DEFAULT_DELAY = 0.1       # seconds, the first back-off
MAX_DELAY = 60.0          # Docker caps the back-off at one minute
RESET_AFTER = 10.0        # a run this long resets the back-off
POLICIES = ("no", "always", "on-failure", "unless-stopped")


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"
    max_retries: int = 0

    @classmethod
    def from_hostconfig(cls, host_config: dict | None) -> "RestartPolicy":
        rp = (host_config or {}).get("RestartPolicy") or {}
        name = rp.get("Name") or "no"
        if name not in POLICIES:
            raise InvalidArgument(f"invalid restart policy '{name}'")
        retries = int(rp.get("MaximumRetryCount") or 0)
        if retries < 0:
            raise InvalidArgument("maximum retry count cannot be negative")
        if retries and name != "on-failure":
            raise InvalidArgument(f"maximum retry count cannot be used with restart policy '{name}'")
        return cls(name, retries)

    def restarts_on_boot(self, manually_stopped: bool) -> bool:
        """Should a container that was running when its supervisor was lost start again?"""
        return self.name == "always" or (self.name == "unless-stopped" and not manually_stopped)


class RestartManager:
    """Per container: decides after each exit whether and when to start it again."""

    def __init__(self, policy: RestartPolicy, restart_count: int = 0):
        self.policy = policy
        self.restart_count = restart_count  # restarts done under this policy since the last manual start
        self.delay = 0.0

    def should_restart(self, exit_code: int, manually_stopped: bool, ran_for: float) -> tuple[bool, float]:
        """(restart?, after how many seconds); counts the restart when it says yes."""
        if ran_for >= RESET_AFTER:
            self.delay = 0.0
        self.delay = DEFAULT_DELAY if self.delay == 0 else min(self.delay * 2, MAX_DELAY)
        if manually_stopped:
            return False, 0.0
        p = self.policy
        if p.name in ("always", "unless-stopped"):
            restart = True
        elif p.name == "on-failure":
            restart = exit_code != 0 and (p.max_retries == 0 or self.restart_count < p.max_retries)
        else:
            restart = False
        if not restart:
            return False, 0.0
        self.restart_count += 1
        return True, self.delay
