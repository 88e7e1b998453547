"""Scores of pages seen moments ago, so that the same page seen again is alerted (or let be) on the event
loop without another trip through the job queue and the scoring process.

A burst of visits to pages already scored (a child reloading, ten tabs of one site) would otherwise queue
one scoring job each, and a full queue drops the oldest: the alert for a scam page could be lost. Keyed by
the page's address without its query and a hash of its body as received: the content is what was scored,
and the phishing blocklist lists hosts and page prefixes, which the query does not change (a scam page
handed out with a fresh ?id= to every victim is one page).
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from cachetools import LRUCache

from classifier.records import Score

RECENT_PAGES = 4096  # a few hundred bytes each: well under 2 MB


class RecentScores:
    """A bounded, thread-safe map (url, body hash) -> Score: the worker fills it, the event loop reads it."""

    def __init__(self, maxsize: int = RECENT_PAGES) -> None:
        self._scores: LRUCache[tuple[str, int], Score] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    @staticmethod
    def key(url: str, body: bytes) -> tuple[str, int]:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}", hash(body)

    def get(self, key: tuple[str, int]) -> Score | None:
        with self._lock:
            return self._scores.get(key)

    def remember(self, key: tuple[str, int], score: Score | None) -> None:
        if score is not None:
            with self._lock:
                self._scores[key] = score
