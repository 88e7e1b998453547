"""How many help reports one device may send: the ``limits`` library's moving window, in memory (the same
library and strategy as the dashboard's login throttle), so a restart forgets the counts."""

from __future__ import annotations

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class RateLimit:
    """At most ``limit`` events per key (a device) in any ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: int) -> None:
        if limit < 1 or window_s < 1:
            raise ValueError(f"a rate limit needs limit >= 1 and window >= 1 s, not {limit!r}/{window_s!r}")
        self.limit = limit
        self.window_s = window_s
        self._item = RateLimitItemPerSecond(limit, window_s)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def take(self, key: str) -> bool:
        """Count one event for ``key`` and return True, or return False when its window is full."""
        return self._limiter.hit(self._item, "child-pages", key)
