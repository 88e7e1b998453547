"""What the model saw on each page it warned about, so that "Tell my parent" and the child's choices can
point the parent at the same evidence and at the model's own alert for that page."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class WarnedPage:
    """One interstitial shown: who saw which page, and the evidence the model found there."""

    child: str
    device: str
    url: str
    category: str
    snippet: str
    terms: tuple[str, ...] = ()
    title: str = ""
    model_version: str = ""
    alert_id: int | None = None


class WarnedPages:
    """The last warned pages by flow id (bounded); written by the event loop and the worker thread."""

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[str, WarnedPage] = OrderedDict()
        self._alert_by_page: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, flow_id: str, page: WarnedPage) -> None:
        with self._lock:
            self._pages[flow_id] = page
            self._pages.move_to_end(flow_id)
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)

    def set_alert_id(self, flow_id: str, alert_id: int | None) -> None:
        """The model's alert for that page; ``None`` when the alert gate held back a repeat, in which case
        the page keeps the id of the last alert for the same device and URL."""
        with self._lock:
            page = self._pages.get(flow_id)
            if page is None:
                return
            key = (page.device, page.url)
            if alert_id is None:
                alert_id = self._alert_by_page.get(key)
            else:
                self._alert_by_page[key] = alert_id
                self._alert_by_page.move_to_end(key)
                while len(self._alert_by_page) > self.capacity:
                    self._alert_by_page.popitem(last=False)
            self._pages[flow_id] = replace(page, alert_id=alert_id)

    def get(self, flow_id: str) -> WarnedPage | None:
        with self._lock:
            return self._pages.get(flow_id)
