"""The warnings shown to children, under opaque ids, and the "continue anyway" grants.

A warning's id is the only thing the warned site's origin ever carries (in a redirect a script cannot read);
everything else stays here, in the proxy's memory. Both maps are bounded and expire: a warning after
``WARNING_TTL_S``, a grant after ``GRANT_TTL_S``. One small class does both because they share the rules
(bounded, expiring, thread-safe: written on the event loop, read on the pages' thread and the worker).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

WARNING_TTL_S = 2 * 3600
GRANT_TTL_S = 3600


class ExpiringMap[K, V]:
    """At most ``capacity`` entries, each forgotten ``ttl_s`` after it was last set; oldest evicted first."""

    def __init__(self, capacity: int, ttl_s: float) -> None:
        self.capacity = capacity
        self.ttl_s = ttl_s
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def set(self, key: K, value: V, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._items[key] = (now + self.ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get(self, key: K, now: float | None = None) -> V | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._items[key]
                return None
            return entry[1]

    def update(self, key: K, value: V) -> None:
        """Replace the value of a live entry, keeping its expiry; nothing if it is gone."""
        with self._lock:
            if key in self._items:
                self._items[key] = (self._items[key][0], value)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class WarnedPage:
    """One warning shown: who saw which page, in which mode, and the evidence the model found there."""

    id: str
    child: str
    device: str
    url: str
    host: str
    mode: str  # "warn" offers "continue anyway"; "block" does not
    category: str = "scam"
    kind: str = ""
    snippet: str = ""
    terms: tuple[str, ...] = ()
    title: str = ""
    model_version: str = ""
    lang: str = ""  # the page's declared language
    detected_lang: str = ""  # the language the model detected
    alert_id: int | None = None


class WarnedPages:
    """Warnings by opaque id; the same device warned again about the same URL in the same mode gets the
    same id (a script fetching the page in a loop cannot push the child's own warning out)."""

    def __init__(self, capacity: int = 2000, ttl_s: float = WARNING_TTL_S) -> None:
        self._pages: ExpiringMap[str, WarnedPage] = ExpiringMap(capacity, ttl_s)
        self._ids: ExpiringMap[tuple[str, str, str], str] = ExpiringMap(capacity, ttl_s)
        self._alert_by_page: ExpiringMap[tuple[str, str], int] = ExpiringMap(capacity, ttl_s)

    def remember(self, page: WarnedPage) -> WarnedPage:
        """Store ``page`` (its ``id`` is ignored) under a new or the reused id; return it with its id."""
        key = (page.device, page.url, page.mode)
        known = self._ids.get(key)
        earlier = self._pages.get(known) if known else None
        page = replace(page, id=known if earlier else secrets.token_urlsafe(18))
        if earlier is not None and page.alert_id is None:
            page = replace(page, alert_id=earlier.alert_id)
        self._pages.set(page.id, page)
        self._ids.set(key, page.id)
        return page

    def set_alert_id(self, warning_id: str, alert_id: int | None) -> None:
        """The model's alert for that page; ``None`` when the alert gate held back a repeat, in which case
        the warning keeps the id of the last alert for the same device and URL."""
        page = self._pages.get(warning_id)
        if page is None:
            return
        key = (page.device, page.url)
        if alert_id is None:
            alert_id = self._alert_by_page.get(key)
        else:
            self._alert_by_page.set(key, alert_id)
        self._pages.update(warning_id, replace(page, alert_id=alert_id))

    def get(self, warning_id: str) -> WarnedPage | None:
        return self._pages.get(warning_id)


class Grants:
    """URLs a device chose to open anyway; each passes unchecked for that device for an hour."""

    def __init__(self, capacity: int = 10_000, ttl_s: float = GRANT_TTL_S) -> None:
        self._until: ExpiringMap[tuple[str, str], bool] = ExpiringMap(capacity, ttl_s)

    def grant(self, device: str, url: str) -> None:
        self._until.set((device, url), True)

    def allows(self, device: str, url: str) -> bool:
        return bool(self._until.get((device, url)))
