"""Retention: old alerts, conversations, feedback and choices are purged on the worker, once an hour."""

from __future__ import annotations

import logging
import time

from alert_store import AlertStore

log = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0


class RetentionPurge:
    """Runs ``AlertStore.purge_older_than`` at start and then at most once per ``every_s``."""

    def __init__(self, every_s: float = PURGE_EVERY_S) -> None:
        self.every_s = every_s
        self._last = float("-inf")

    def maybe_purge(self, store: AlertStore, days: int, now: float | None = None) -> int:
        """Purge when due; return how many rows went (0 when not due)."""
        now = time.monotonic() if now is None else now
        if now - self._last < self.every_s:
            return 0
        self._last = now
        result = store.purge_older_than(days)
        if result.total or sum(result.extra.values()):
            log.info("NotAlone: purged data older than %d days: %s", days, result)
        return result.total + sum(result.extra.values())
