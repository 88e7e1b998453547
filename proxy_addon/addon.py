"""NotAlone's mitmproxy addon: see what children see, score it, keep the alerts.

Run it with ``notalone proxy`` or directly: ``mitmdump -s proxy_addon/addon.py --set notalone_data_dir=DIR``.
Every hook is fail-open: whatever goes wrong in extraction or scoring, the flow passes untouched.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("proxy_addon") is None:  # loaded by path, as a mitmproxy script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mitmproxy import connection, exceptions, http, tls

from alert_store import AlertStore, DataDir, default_data_dir
from proxy_addon import scoring
from proxy_addon.access import DEFAULT_HOME_RANGES, HomeRanges, RangeError
from proxy_addon.analysis import Analysis, FlowContext
from proxy_addon.blind_spots import is_doh_request
from proxy_addon.child_pages import ChildPages
from proxy_addon.content import content_kind, valid_unicode
from proxy_addon.identity import DEFAULT_CHILD, ChildMap, Identity, client_ip, device_id
from proxy_addon.inflate import InflateError, inflated_size_within
from proxy_addon.options import DEFAULT_MAX_BODY, DEFAULT_RETENTION_DAYS, MODES, WORKERS, Settings
from proxy_addon.policy import AlertPolicy
from proxy_addon.retention import RetentionPurge
from proxy_addon.worker import BackgroundWorker

log = logging.getLogger("notalone")
WARN_SEVERITIES = ("medium", "high")
# On shutdown the worker finishes its queue (alerts are written, never dropped) for up to this long;
# `notalone up` waits 30 s before it kills the proxy.
SHUTDOWN_DRAIN_S = 25.0

TOUCH_DEVICE_EVERY_S = 60.0


class NotAlone:
    """Reads pages and chats, scores them off the response path (or before it, in warn/block mode)."""

    def __init__(self, load_model: Any = scoring.load_model) -> None:
        self._load_model = load_model
        self.settings: Settings | None = None
        self._options: Settings | None = None
        self.worker: BackgroundWorker | None = None
        self.scorer: scoring.CachedScorer | None = None  # in this process: warn/block's synchronous check
        self.job_scorer: scoring.CachedScorer | None = None  # the worker's: a thread or a process
        self.children = ChildMap()
        self.analysis = Analysis(lambda: self.job_scorer)
        self.retention = RetentionPurge()
        self._model_thresholds: dict[str, Any] = {}
        # The child's pages at notalone.home.arpa: warnings, help, "continue anyway" grants.
        self.child_pages = ChildPages(identify=self._identify, allows_client=self._allows_client)
        self.addons = [self.child_pages]  # mitmproxy runs a sub-addon's hooks after this addon's
        self._touched: dict[str, float] = {}
        self._logged_kinds: set[str] = set()
        self._log_lock = threading.Lock()

    # -- options ----------------------------------------------------------------------------------------
    def load(self, loader: Any) -> None:
        loader.add_option(
            "notalone_data_dir",
            str,
            "",
            "NotAlone data directory (database, CA, config.toml); default $NOTALONE_DATA_DIR "
            "or ~/.local/share/notalone.",
        )
        loader.add_option(
            "notalone_mode",
            str,
            "monitor",
            "monitor: alert parents only; warn: interstitial with 'continue'; block: without.",
        )
        loader.add_option("notalone_max_body", int, DEFAULT_MAX_BODY, "Skip bodies larger than this (bytes).")
        loader.add_option(
            "notalone_home_ranges",
            Sequence[str],
            list(DEFAULT_HOME_RANGES),
            "Client address ranges allowed to use the proxy (CIDR).",
        )
        loader.add_option(
            "notalone_dashboard", str, "", "host:port of the parent dashboard; its traffic is never read."
        )
        loader.add_option(
            "notalone_default_child",
            str,
            DEFAULT_CHILD,
            "Child profile for devices the parent has not assigned yet.",
        )
        loader.add_option("notalone_model", str, "", "Model artifact to load instead of the shipped one.")
        loader.add_option(
            "notalone_worker",
            str,
            "process",
            "Where monitor-mode scoring runs: 'process' (measured faster) or 'thread'.",
        )
        loader.add_option(
            "notalone_queue_size",
            int,
            256,
            "Scoring jobs waiting at most; when full the oldest is dropped and counted.",
        )
        loader.add_option("notalone_refresh", int, 3, "Seconds between reads of the parent's settings.")
        loader.add_option(
            "notalone_retention_days",
            int,
            DEFAULT_RETENTION_DAYS,
            "Days data is kept (retention.days); the parent's dashboard choice overrides it.",
        )

    def configure(self, updated: set[str]) -> None:
        from mitmproxy import ctx

        if not any(name.startswith("notalone_") for name in updated):
            return
        o = ctx.options
        if o.notalone_mode not in MODES:
            raise exceptions.OptionsError(f"notalone_mode must be one of {MODES}, not {o.notalone_mode!r}")
        if o.notalone_worker not in WORKERS:
            raise exceptions.OptionsError(
                f"notalone_worker must be one of {WORKERS}, not {o.notalone_worker!r}"
            )
        for name in (
            "notalone_max_body",
            "notalone_queue_size",
            "notalone_refresh",
            "notalone_retention_days",
        ):
            if getattr(o, name) < 1:
                raise exceptions.OptionsError(f"{name} must be at least 1, not {getattr(o, name)!r}")
        try:
            ranges = HomeRanges.from_specs(o.notalone_home_ranges)
        except RangeError as e:
            raise exceptions.OptionsError(f"notalone_home_ranges: {e}") from None
        if not o.notalone_default_child.strip():
            raise exceptions.OptionsError("notalone_default_child must not be empty")
        previous = self._options
        self._options = Settings(
            data_dir=Path(o.notalone_data_dir).expanduser() if o.notalone_data_dir else default_data_dir(),
            mode=o.notalone_mode,
            max_body=o.notalone_max_body,
            home_ranges=ranges,
            dashboard=o.notalone_dashboard.strip().lower(),
            default_child=o.notalone_default_child.strip(),
            model=o.notalone_model,
            worker=o.notalone_worker,
            queue_size=o.notalone_queue_size,
            refresh_s=o.notalone_refresh,
            retention_days=o.notalone_retention_days,
        )
        self.settings = self._options
        self.children = ChildMap(
            self._options.default_child, self.children.assignments, self.children.children
        )
        restart = previous is not None and (
            previous.data_dir,
            previous.model,
            previous.worker,
            previous.queue_size,
        ) != (self._options.data_dir, self._options.model, self._options.worker, self._options.queue_size)
        if self.worker is not None and restart:
            self._stop()
            self._start()

    # -- lifecycle --------------------------------------------------------------------------------------
    def running(self) -> None:
        if self.worker is None:
            self._start()

    def done(self) -> None:
        self._stop()

    def _start(self) -> None:
        assert self._options is not None, "configure() runs before running()"
        DataDir(self._options.data_dir).ensure()
        self.worker = BackgroundWorker(
            DataDir(self._options.data_dir).database,
            queue_size=self._options.queue_size,
            on_error=self._log_once,
            on_start=self._start_scoring,
            tick=self._refresh,
            tick_interval_s=self._options.refresh_s,
        )
        self.worker.start()

    def _stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=SHUTDOWN_DRAIN_S)
            self.worker = None
        for scorer in {id(s): s for s in (self.scorer, self.job_scorer) if s is not None}.values():
            scorer.close()
        self.scorer = self.job_scorer = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until queued work is done (tests, shutdown)."""
        return self.worker.wait_idle(timeout) if self.worker is not None else True

    # -- on the worker thread ---------------------------------------------------------------------------
    def _start_scoring(self, store: AlertStore) -> None:
        """Load the model; without one, traffic still flows, with scoring off and the reason on record."""
        options = self._options
        assert options is not None
        self._refresh(store)
        try:
            model = self._load_model(options.model)
        except scoring.ScoringUnavailable as e:
            # A warning, not an error: mitmdump treats an error logged while it starts as fatal, and the
            # point is that traffic keeps flowing (the dashboard shows a banner with this reason).
            log.warning("NotAlone: scoring is OFF, traffic passes unscored: %s", e)
            self._write_status(store, scoring_on=False, reason=str(e), version="")
            return
        reputation = getattr(model, "with_url_reputation", None)
        local = scoring.CachedScorer(scoring.InProcessScorer(model), reputation=reputation)
        self.scorer = local
        self._model_thresholds = dict(getattr(model, "thresholds", {}) or {})
        self._refresh(store)
        if options.worker == "process":
            remote = scoring.ProcessPoolScorer(options.model, model.version)
            remote.warm_up()  # before "scoring on" is reported: the first burst of pages must not wait
            self.job_scorer = scoring.CachedScorer(remote, local.cache, reputation=reputation)
        else:
            self.job_scorer = local
        log.info("NotAlone: scoring with model %s (%s worker)", model.version, options.worker)
        self._write_status(store, scoring_on=True, reason="", version=model.version)

    def _write_status(self, store: AlertStore, *, scoring_on: bool, reason: str, version: str) -> None:
        settings = self.settings or self._options
        store.set_setting(
            "status.proxy",
            {
                "scoring": "on" if scoring_on else "off",
                "reason": reason,
                "model_version": version,
                "mode": settings.mode if settings else "monitor",
                "updated_at": time.time(),
            },
        )

    def _refresh(self, store: AlertStore) -> None:
        """Apply what the parent changed in the dashboard: mode, ignored hosts, home ranges, devices."""
        options = self._options
        if options is None:
            return
        parent = store.settings()
        previous_mode = self.settings.mode if self.settings else options.mode
        self.settings, problems = options.with_parent_settings(parent)
        for problem in problems:
            self._log_once("settings", ValueError(problem))
        mode = self.settings.mode
        children = store.children()
        self.children = ChildMap(
            options.default_child,
            {d.device: d.child for d in store.devices() if d.child},
            frozenset(children),
        )
        self.analysis.policy = AlertPolicy(
            thresholds=self._model_thresholds,
            overrides=dict(self.settings.threshold_overrides),
            sensitivity={name: dict(c.get("sensitivity") or {}) for name, c in children.items()},
        )
        self.retention.maybe_purge(store, self.settings.retention_days)
        if mode != previous_mode and isinstance(parent.get("status.proxy"), dict):
            status = parent["status.proxy"]
            self._write_status(
                store,
                scoring_on=status.get("scoring") == "on",
                reason=status.get("reason", ""),
                version=status.get("model_version", ""),
            )

    # -- fail-open ----------------------------------------------------------------------------------------
    def _log_once(self, kind: str, error: BaseException) -> None:
        with self._log_lock:
            first = kind not in self._logged_kinds
            self._logged_kinds.add(kind)
        if first:
            log.error(
                "NotAlone: %s failed, the flow passes untouched (logged once per kind): %r",
                kind,
                error,
                exc_info=error,
            )

    @contextmanager
    def _fail_open(self, kind: str) -> Iterator[None]:
        try:
            yield
        except Exception as e:  # the fail-open boundary: the child's traffic never breaks because of us
            self._log_once(kind, e)
            self._write(f"errors.{kind}", lambda s: s.increment(f"errors.{kind}"))

    def _write(self, kind: str, task: Any) -> None:
        if self.worker is not None:
            self.worker.submit_write(kind, task)

    def _job(self, kind: str, task: Any) -> None:
        if self.worker is not None:
            self.worker.submit_job(kind, task)

    # -- helpers for the hooks ----------------------------------------------------------------------------
    def _identify(self, flow: http.HTTPFlow) -> Identity:
        auth = flow.metadata.get("proxyauth")
        user = str(auth[0]) if isinstance(auth, (tuple, list)) and auth else ""
        identity = self.children.identify(flow.client_conn, user)
        self._touch(identity.device, identity.address)
        return identity

    def _touch(self, device: str, address: str) -> None:
        now = time.monotonic()
        if now - self._touched.get(device, -TOUCH_DEVICE_EVERY_S) >= TOUCH_DEVICE_EVERY_S:
            self._touched[device] = now
            self._write("touch_device", lambda s: s.touch_device(device, address))

    def _allows_client(self, address: str) -> bool:
        settings = self.settings
        return settings is not None and settings.home_ranges.allows(address)

    def _ignored(self, flow: http.HTTPFlow) -> bool:
        """The dashboard's own traffic and hosts the parent chose to ignore are never read."""
        settings = self.settings
        if settings is None:
            return True
        request = flow.request
        if settings.dashboard and settings.dashboard in (
            f"{request.host}:{request.port}".lower(),
            f"{request.pretty_host}:{request.port}".lower(),
        ):
            return True
        return settings.ignores(request.pretty_host)

    def _context(self, flow: http.HTTPFlow, identity: Identity, app: str = "") -> FlowContext:
        request = flow.request
        return FlowContext(
            child=identity.child,
            device=identity.device,
            url=request.pretty_url,
            host=request.pretty_host,
            path=request.path,
            app=app,
        )

    def _readable(self, message: http.Message) -> bool:
        """False, and counted as ``skipped.<reason>``, for a body over the size limit, raw or inflated (a
        gzip/brotli bomb is measured in bounded memory, never decoded whole), or one that does not decode."""
        assert self.settings is not None
        limit = self.settings.max_body
        raw = message.raw_content or b""
        if len(raw) > limit:
            reason = "too_big"
        else:
            try:
                if inflated_size_within(raw, message.headers.get("content-encoding", ""), limit):
                    return True
                reason = "inflates_too_big"
            except InflateError:
                reason = "undecodable"
        self._write(f"skipped.{reason}", lambda s: s.increment(f"skipped.{reason}"))
        return False

    # -- hooks ---------------------------------------------------------------------------------------------
    def client_connected(self, client: connection.Client) -> None:
        with self._fail_open("client_connected"):
            settings = self.settings
            if settings is None:
                return
            address = client_ip(client)
            if not settings.home_ranges.allows(address):
                client.error = f"NotAlone: {address} is outside the home address ranges"
                self._log_once("refused_client", PermissionError(client.error))
                self._write("refused", lambda s: s.increment("clients.refused"))
                return
            self._touch(device_id(client), address)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        with self._fail_open("tls_failed_client"):
            client = data.context.client
            server = data.context.server
            host = client.sni or (server.address[0] if server.address else "") or "unknown"
            device = self.children.identify(client).device
            self._write("blind_spot", lambda s: s.record_blind_spot("tls_failed", host, device))

    def request(self, flow: http.HTTPFlow) -> None:
        with self._fail_open("request"):
            if self.child_pages.claims(flow):  # the child's pages answer these, and read none of them
                return
            if self.settings is None or self._ignored(flow):
                return
            identity = self._identify(flow)
            if is_doh_request(flow.request):
                host, device = flow.request.pretty_host, identity.device
                self._write("blind_spot", lambda s: s.record_blind_spot("doh", host, device))
                return
            kind = content_kind(flow.request.headers.get("content-type", ""))
            if (
                kind is None
                or kind == "html"
                or not flow.request.raw_content
                or not self._readable(flow.request)
            ):
                return
            context = self._context(flow, identity, app=flow.request.pretty_host)
            if flow.request.multipart_form:
                fields = [
                    (k.decode(errors="replace"), v.decode(errors="replace"))
                    for k, v in flow.request.multipart_form.items(multi=True)
                    if len(v) < 8192
                ]
                self._job("chat", lambda s: self.analysis.form(s, context, fields))
                return
            body = flow.request.get_text(strict=False) or ""
            ctype = flow.request.headers.get("content-type", "").lower()
            self._job(
                "chat", lambda s: self.analysis.chat_body(s, context, valid_unicode(body), ctype, "outgoing")
            )

    def response(self, flow: http.HTTPFlow) -> None:
        with self._fail_open("response"):
            response = flow.response
            if response is None or self.settings is None or flow.metadata.get("notalone_answered"):
                return
            if self._ignored(flow) or response.status_code in (204, 304) or response.status_code >= 400:
                return
            kind = content_kind(response.headers.get("content-type", ""))
            if kind is None or kind == "form" or not self._readable(response):
                return
            text = response.get_text(strict=False)
            if not text or len(text) > self.settings.max_body:  # a small gzip body can inflate a lot
                return
            identity = self._identify(flow)
            if kind == "html" and self.settings.mode in ("warn", "block"):
                self._guard_page(flow, text, identity)
                return
            if kind in ("html", "text"):
                context = self._context(flow, identity)
                request = self.analysis.page_request(context, valid_unicode(text), is_html=kind == "html")
                seen = self.analysis.seen_page(context, request)
                if seen is None:
                    self._job("page", lambda s: self.analysis.page(s, context, request))
                elif self.analysis.wants_alert(context, seen):  # seen before: only the alert to write
                    snippet_source = request.text[:2000]
                    self._write(
                        "alert",
                        lambda s: self.analysis.record(
                            s, context, seen, direction="incoming", subject=context.url, text=snippet_source
                        ),
                    )
            else:
                context = self._context(flow, identity, app=flow.request.pretty_host)
                ctype = response.headers.get("content-type", "").lower()
                self._job(
                    "chat",
                    lambda s: self.analysis.chat_body(s, context, valid_unicode(text), ctype, "incoming"),
                )

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        with self._fail_open("websocket_message"):
            if flow.websocket is None or self.settings is None or self._ignored(flow):
                return
            message = flow.websocket.messages[-1]
            # mitmproxy keeps every message of a connection in the flow; a chat socket open for hours
            # (or a few huge frames) would hold them all. Its WebSocket layer sends ``message`` itself
            # after this hook, so keeping only the newest is safe and bounds the memory.
            del flow.websocket.messages[:-1]
            if not message.is_text:
                return
            if len(message.content) > self.settings.max_body:
                self._write("skipped.too_big", lambda s: s.increment("skipped.too_big"))
                return
            identity = self._identify(flow)
            context = self._context(flow, identity, app=flow.request.pretty_host)
            direction = "outgoing" if message.from_client else "incoming"
            text = message.content.decode("utf-8", "replace")  # a text frame is not always UTF-8
            self._job("chat", lambda s: self.analysis.chat_body(s, context, text, "websocket", direction))

    # -- warn and block ------------------------------------------------------------------------------------
    def _guard_page(self, flow: http.HTTPFlow, text: str, identity: Identity) -> None:
        """Score the page before it reaches the child; a likely scam is replaced by the interstitial."""
        assert flow.response is not None and self.settings is not None
        scorer = self.scorer
        url = flow.request.pretty_url
        if scorer is None or self.child_pages.allows(identity.device, url):
            return
        text = valid_unicode(text)
        score = scorer.score(scoring.ScoreRequest(scoring.PAGE, text, url))
        decision = self.analysis.policy.decide(score, identity.child)
        if decision is None:
            return
        context = self._context(flow, identity)
        # Only a page that is likely a scam is held back; a low-severity one is reported, not blocked.
        warned = decision.category == "scam" and decision.severity in WARN_SEVERITIES
        mode = self.settings.mode
        warning_id = (
            self.child_pages.warn(
                flow,
                decision,
                identity,
                mode=mode,
                title=score.title or "",
                model_version=scorer.version,
                lang=score.lang or "",
            )
            if warned
            else None
        )

        def record_alert(store: AlertStore) -> None:
            alert_id = self.analysis.record(
                store, context, score, direction="incoming", subject=url, text=text[:2000]
            )
            if warning_id is not None:  # the child's choices on the warning point at this alert
                self.child_pages.warned.set_alert_id(warning_id, alert_id)

        self._write("alert", record_alert)
        if warned:
            self._write("interstitial", lambda s: s.increment(f"interstitial.{mode}.shown"))


addons = [NotAlone()]
