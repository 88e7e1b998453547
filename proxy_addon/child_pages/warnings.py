"""The warnings shown to children, under opaque ids, and the "continue anyway" grants.

A warning's id is the only thing the warned site's origin ever carries (in a redirect a script cannot read);
everything else stays here, in the proxy's memory. Both maps are ``cachetools.TTLCache``s (bounded, expiring:
a warning after ``WARNING_TTL_S``, a grant after ``GRANT_TTL_S``) behind a lock, because the event loop
writes them while the pages' thread and the worker read them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cachetools import TTLCache

if TYPE_CHECKING:
    from alert_store import AlertStore

WARNING_TTL_S = 2 * 3600
GRANT_TTL_S = 3600


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
    alert_settled: bool = False  # the proxy has written (or held back) the model's alert for this page


@dataclass(frozen=True)
class PendingChoice:
    """A child's choice on a warning made before the model's alert for that page was written."""

    child: str
    choice: str
    device: str
    url: str

    def record(self, store: AlertStore, alert_id: int | None) -> None:
        """Write the choice, linked to the page's alert when there is one."""
        store.record_choice(
            child=self.child, choice=self.choice, device=self.device, url=self.url, alert_id=alert_id
        )


class WarnedPages:
    """Warnings by opaque id; the same device warned again about the same URL in the same mode gets the
    same id (a script fetching the page in a loop cannot push the child's own warning out)."""

    def __init__(
        self, capacity: int = 2000, ttl_s: float = WARNING_TTL_S, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._pages: TTLCache[str, WarnedPage] = TTLCache(capacity, ttl_s, timer=timer)
        self._ids: TTLCache[tuple[str, str, str], str] = TTLCache(capacity, ttl_s, timer=timer)
        self._alert_by_page: TTLCache[tuple[str, str], int] = TTLCache(capacity, ttl_s, timer=timer)
        self._pending: TTLCache[str, list[PendingChoice]] = TTLCache(capacity, ttl_s, timer=timer)
        self._lock = threading.Lock()

    def remember(self, page: WarnedPage) -> WarnedPage:
        """Store ``page`` (its ``id`` is ignored) under a new or the reused id; return it with its id."""
        key = (page.device, page.url, page.mode)
        with self._lock:
            known = self._ids.get(key)
            earlier = self._pages.get(known) if known else None
            page = replace(page, id=known if earlier else secrets.token_urlsafe(18))
            if earlier is not None and page.alert_id is None:
                page = replace(page, alert_id=earlier.alert_id)
            self._pages[page.id] = page
            self._ids[key] = page.id
        return page

    def set_alert_id(self, warning_id: str, alert_id: int | None) -> tuple[int | None, list[PendingChoice]]:
        """The model's alert for that page; ``None`` when the alert gate held back a repeat, in which case
        the warning keeps the id of the last alert for the same device and URL. Returns the alert id in
        force and the choices made before it was known, for the caller to record against it."""
        with self._lock:
            page = self._pages.get(warning_id)
            if page is None:
                return alert_id, []
            key = (page.device, page.url)
            if alert_id is None:
                alert_id = self._alert_by_page.get(key)
            else:
                self._alert_by_page[key] = alert_id
            self._pages[warning_id] = replace(page, alert_id=alert_id, alert_settled=True)
            return alert_id, self._pending.pop(warning_id, [])

    def settled_or_defer(self, warning_id: str, choice: PendingChoice) -> tuple[bool, int | None]:
        """``(True, alert id)`` when the page's alert is settled, so the choice can be recorded against it
        now; else ``(False, None)`` and the choice waits for :meth:`set_alert_id` (which the proxy calls on
        the thread that writes the alert, so a click faster than the database still lands on its alert)."""
        with self._lock:
            page = self._pages.get(warning_id)
            if page is None or page.alert_settled:
                return True, page.alert_id if page is not None else None
            self._pending.setdefault(warning_id, []).append(choice)
            return False, None

    def record_or_defer(self, store: AlertStore, warning_id: str, choice: PendingChoice) -> None:
        """Record ``choice`` against the page's alert now if it is settled, else leave it for the thread
        that writes that alert (see :meth:`settled_or_defer`)."""
        settled, alert_id = self.settled_or_defer(warning_id, choice)
        if settled:
            choice.record(store, alert_id)

    def get(self, warning_id: str) -> WarnedPage | None:
        with self._lock:
            return self._pages.get(warning_id)


class Grants:
    """URLs a device chose to open anyway; each passes unchecked for that device for an hour."""

    def __init__(
        self, capacity: int = 10_000, ttl_s: float = GRANT_TTL_S, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._granted: TTLCache[tuple[str, str], bool] = TTLCache(capacity, ttl_s, timer=timer)
        self._lock = threading.Lock()

    def grant(self, device: str, url: str) -> None:
        with self._lock:
            self._granted[(device, url)] = True

    def allows(self, device: str, url: str) -> bool:
        with self._lock:
            return self._granted.get((device, url), False)
