"""What the proxy's addons share: the settings in force, the worker, the scoring process, who is who.

One :class:`ProxyState` is made by ``addon.py`` and handed to each addon, as mitmproxy hands its own addons
``ctx``. It holds no hooks: the addons in ``addon.py``'s list do the work, and the fail-open boundary
(``fail_open``) and the counters (``count``) live here so that every addon reports the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache
from mitmproxy import http

from alert_store import AlertStore, Suppression
from classifier.decision import Policy
from proxy_addon.analysis import Analysis, FlowContext
from proxy_addon.identity import ChildMap, Identity
from proxy_addon.inflate import InflateError, inflated_size_within
from proxy_addon.options import Settings
from proxy_addon.recent_scores import RecentScores
from proxy_addon.scoring import Scoring
from proxy_addon.worker import BackgroundWorker

log = logging.getLogger("notalone")

TOUCH_DEVICE_EVERY_S = 60.0
# NotAlone's own pages: never read, never scored, in every mode.
OWN_HOSTS = frozenset({"mitm.it", "notalone.home.arpa"})
IGNORED_KEY = "notalone_ignored"


@dataclass(frozen=True)
class Suppressions:
    """The parent's "False alarm"s: (child, kind, value) that no longer alert."""

    items: frozenset[tuple[str, str, str]] = frozenset()

    @classmethod
    def of(cls, rows: list[Suppression]) -> Suppressions:
        return cls(frozenset((s.child, s.kind, s.value) for s in rows))

    def silences(self, ctx: FlowContext, conversation: str = "") -> bool:
        if not self.items:
            return False
        if conversation:
            return (ctx.child, "conversation", conversation) in self.items
        host = ctx.host.lower().rstrip(".").removeprefix("www.")
        return (ctx.child, "site", host) in self.items


@dataclass
class ProxyState:
    settings: Settings | None = None
    worker: BackgroundWorker | None = None
    scoring: Scoring | None = None
    children: ChildMap = field(default_factory=ChildMap)
    suppressions: Suppressions = field(default_factory=Suppressions)
    recent: RecentScores = field(default_factory=RecentScores)
    analysis: Analysis = field(init=False)
    # device -> when it was last written as seen; bounded, so a flood of addresses cannot grow it.
    _touched: TTLCache[str, float] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=TOUCH_DEVICE_EVERY_S)
    )
    _logged: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.analysis = Analysis(lambda: self.scoring, lambda: self.suppressions)

    @property
    def policy(self) -> Policy:
        return self.analysis.policy

    # -- reporting -------------------------------------------------------------------------------------
    def log_once(self, kind: str, error: BaseException) -> None:
        with self._lock:
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            log.error(
                "NotAlone: %s failed, the flow passes untouched (logged once per kind): %r",
                kind,
                error,
                exc_info=error,
            )

    @contextmanager
    def fail_open(self, kind: str) -> Iterator[None]:
        try:
            yield
        except Exception as e:  # the fail-open boundary: the child's traffic never breaks because of us
            self.log_once(kind, e)
            self.count(f"errors.{kind}")

    def count(self, name: str, by: int = 1) -> None:
        self.write(name, lambda s: s.increment(name, by))

    def write(self, kind: str, task: Callable[[AlertStore], Any]) -> None:
        if self.worker is not None:
            self.worker.submit_write(kind, task)

    def job(self, kind: str, task: Callable[[AlertStore], Any]) -> None:
        if self.worker is not None:
            self.worker.submit_job(kind, task)

    # -- flows -----------------------------------------------------------------------------------------
    def identify(self, flow: http.HTTPFlow) -> Identity:
        auth = flow.metadata.get("proxyauth")
        user = str(auth[0]) if isinstance(auth, (tuple, list)) and auth else ""
        identity = self.children.identify(flow.client_conn, user)
        self.touch(identity.device, identity.address)
        return identity

    def touch(self, device: str, address: str) -> None:
        if device not in self._touched:
            self._touched[device] = time.monotonic()
            self.write("touch_device", lambda s: s.touch_device(device, address))

    def own_page(self, flow: http.HTTPFlow) -> bool:
        """NotAlone's own pages (mitm.it, notalone.home.arpa, the dashboard): never read, in any mode."""
        request = flow.request
        pretty_host = request.pretty_host  # parses the Host header: once per call, not per comparison
        if pretty_host.lower().rstrip(".") in OWN_HOSTS or request.host.lower() in OWN_HOSTS:
            return True
        settings = self.settings
        return bool(settings and settings.is_dashboard(request.host, pretty_host, request.port))

    def ignored(self, flow: http.HTTPFlow) -> bool:
        """Not read: scoring not configured yet, NotAlone's own pages, hosts the parent chose to ignore.

        Decided once per flow (several addons ask, on the request and on the response)."""
        settings = self.settings
        if settings is None:
            return True
        decided = flow.metadata.get(IGNORED_KEY)
        if decided is None:
            decided = self.own_page(flow) or settings.ignores(flow.request.pretty_host)
            flow.metadata[IGNORED_KEY] = decided
        return bool(decided)

    def context(self, flow: http.HTTPFlow, identity: Identity, app: str = "") -> FlowContext:
        request = flow.request
        return FlowContext(
            child=identity.child,
            device=identity.device,
            url=request.pretty_url,
            host=request.pretty_host,
            path=request.path,
            app=app,
        )

    def readable(self, message: http.Message) -> bool:
        """False, and counted as ``skipped.<reason>``, for a body over the size limit, raw or inflated (a
        gzip/brotli bomb is measured in bounded memory, never decoded whole), or one that does not decode."""
        assert self.settings is not None
        limit = self.settings.max_body
        raw = message.raw_content
        if raw is None:  # streamed (stream_large_bodies, set by Lifecycle): too big to hold, never read
            self.count("skipped.too_big")
            return False
        if len(raw) > limit:
            reason = "too_big"
        else:
            try:
                if inflated_size_within(raw, message.headers.get("content-encoding", ""), limit):
                    return True
                reason = "inflates_too_big"
            except InflateError:
                reason = "undecodable"
        self.count(f"skipped.{reason}")
        return False
