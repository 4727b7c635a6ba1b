"""When to retry a registry request and how long to wait: 429 and 5xx with exponential
back-off, honouring ``Retry-After`` (seconds or an HTTP date), capped so a pull never hangs."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRIABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait, None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; waits base*2^n (jittered), at most ``cap`` seconds each."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 10.0

    def should_retry(self, attempt: int, status: int | None) -> bool:
        """``attempt`` counts from 1; ``status`` None means the connection failed."""
        if attempt >= self.attempts:
            return False
        return status is None or status in RETRIABLE_STATUS

    def delay(self, attempt: int, retry_after: str | None = None, rand: float | None = None) -> float:
        """Seconds to wait before try ``attempt + 1``."""
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            return min(asked, self.cap)
        r = random.random() if rand is None else rand
        return min(self.cap, self.base * (2 ** (attempt - 1)) * (0.5 + r))
