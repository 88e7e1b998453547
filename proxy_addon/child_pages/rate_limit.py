"""A per-key sliding-window rate limit: at most ``limit`` events per ``window_s`` seconds.

Written here rather than taken from a library: one in-memory limit per device is thirty lines, where the
rate-limit libraries (limits, Flask-Limiter) bring storage backends and configuration this does not need."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimit:
    """Counts events per key (a device) in a sliding window; in memory, so a restart forgets them."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and window > 0, not {limit!r}/{window_s!r}")
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> bool:
        """Count one event for ``key`` and return True, or return False when the window is full."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > self.max_keys:  # forget keys whose windows have emptied
                self._events = {k: v for k, v in self._events.items() if v and v[-1] > now - self.window_s}
            return True
