"""The ``Lifecycle`` addon: the core options, the worker and the scoring process, the parent's settings.

It starts the background worker (which owns the store connection) and, from it, the scoring process; every
``notalone_refresh`` seconds the worker re-reads what the parent chose in the dashboard (mode, ranges,
ignored hosts, thresholds, sensitivity, devices, false alarms), never on the hot path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions

from alert_store import AlertStore, DataDir, default_data_dir
from classifier.decision import Policy
from proxy_addon.access import HomeRanges, RangeError
from proxy_addon.identity import DEFAULT_CHILD, ChildMap
from proxy_addon.options import DEFAULT_MAX_BODY, DEFAULT_RETENTION_DAYS, MODES, Settings
from proxy_addon.retention import RetentionPurge
from proxy_addon.scoring import ProcessScoring, Scoring, ScoringUnavailable
from proxy_addon.scoring_process import BACKGROUND_NICENESS
from proxy_addon.state import ProxyState, Suppressions
from proxy_addon.worker import BackgroundWorker

log = logging.getLogger("notalone")

# On shutdown the worker finishes its queue (alerts are written, never dropped) for up to this long;
# `notalone up` waits 30 s before it kills the proxy.
SHUTDOWN_DRAIN_S = 25.0
# Bodies larger than this many times notalone_max_body are streamed by mitmproxy, never held in memory:
# they would be skipped unread anyway.
STREAM_FACTOR = 2

FALSE_ALARMS_KEY = "status.false_alarms"  # how many "False alarm" suppressions the proxy applies now

RESTART_EVERY_S = 30.0

ScoringFactory = Callable[[Settings], Scoring]


def process_scoring(settings: Settings) -> Scoring:
    # Niced in monitor mode only: there scoring is background work; in warn/block the page waits for it.
    niceness = BACKGROUND_NICENESS if settings.mode == "monitor" else 0
    return ProcessScoring(settings.model, settings.model_factory, niceness)


class Lifecycle:
    def __init__(self, state: ProxyState, scoring_factory: ScoringFactory = process_scoring) -> None:
        self.state = state
        self.scoring_factory = scoring_factory
        self.options: Settings | None = None
        self.retention = RetentionPurge()
        self.helpline_setting: object = None
        self.on_refresh: list[Callable[[dict[str, Any]], None]] = []
        self.false_alarms_in_force = -1
        self._next_restart = 0.0

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
            "notalone_default_child",
            str,
            DEFAULT_CHILD,
            "Child profile for devices the parent has not assigned yet.",
        )
        loader.add_option("notalone_model", str, "", "Model artifact to load instead of the shipped one.")
        loader.add_option(
            "notalone_model_factory",
            str,
            "",
            "Tests only: 'module:callable' that the scoring process calls instead of loading the model.",
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
        if not any(name.startswith("notalone_") for name in updated):
            return
        o = ctx.options
        if o.notalone_mode not in MODES:
            raise exceptions.OptionsError(f"notalone_mode must be one of {MODES}, not {o.notalone_mode!r}")
        for name in (
            "notalone_max_body",
            "notalone_queue_size",
            "notalone_refresh",
            "notalone_retention_days",
        ):
            if getattr(o, name) < 1:
                raise exceptions.OptionsError(f"{name} must be at least 1, not {getattr(o, name)!r}")
        if not o.notalone_default_child.strip():
            raise exceptions.OptionsError("notalone_default_child must not be empty")
        try:  # validated by ClientAccess, which declares it
            ranges = HomeRanges.from_specs(o.notalone_home_ranges)
        except RangeError as e:
            raise exceptions.OptionsError(f"notalone_home_ranges: {e}") from None
        previous = self.options
        self.options = Settings(
            data_dir=Path(o.notalone_data_dir).expanduser() if o.notalone_data_dir else default_data_dir(),
            mode=o.notalone_mode,
            max_body=o.notalone_max_body,
            home_ranges=ranges,
            dashboard=o.notalone_dashboard.strip().lower(),
            default_child=o.notalone_default_child.strip(),
            model=o.notalone_model,
            model_factory=o.notalone_model_factory,
            queue_size=o.notalone_queue_size,
            refresh_s=o.notalone_refresh,
            retention_days=o.notalone_retention_days,
        )
        self.state.settings = self.options
        self.state.children = ChildMap(
            self.options.default_child, self.state.children.assignments, self.state.children.children
        )
        restart = previous is not None and (
            previous.data_dir,
            previous.model,
            previous.model_factory,
            previous.queue_size,
        ) != (self.options.data_dir, self.options.model, self.options.model_factory, self.options.queue_size)
        if self.state.worker is not None and restart:
            self.stop()
            self.start()

    def running(self) -> None:
        if "stream_large_bodies" in ctx.options and ctx.options.stream_large_bodies is None:
            assert self.options is not None
            ctx.options.update(stream_large_bodies=str(self.options.max_body * STREAM_FACTOR))
        if self.state.worker is None:
            self.start()

    def done(self) -> None:
        self.stop()

    # -- the worker and the scoring process --------------------------------------------------------------
    def start(self) -> None:
        assert self.options is not None, "configure() runs before running()"
        DataDir(self.options.data_dir).ensure()
        self.state.worker = BackgroundWorker(
            DataDir(self.options.data_dir).database,
            queue_size=self.options.queue_size,
            on_error=self.state.log_once,
            on_start=self._start_scoring,
            tick=self.refresh,
            tick_interval_s=self.options.refresh_s,
        )
        self.state.worker.start()

    def stop(self) -> None:
        if self.state.worker is not None:
            self.state.worker.stop(timeout=SHUTDOWN_DRAIN_S)
            self.state.worker = None
        if self.state.scoring is not None:
            self.state.scoring.close()
            self.state.scoring = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        worker = self.state.worker
        return worker.wait_idle(timeout) if worker is not None else True

    def _restart_scoring(self, store: AlertStore) -> None:
        """The scoring process ended (the OOM killer picks the biggest process): start a new one, at most
        once per RESTART_EVERY_S, rather than leave the proxy unscored until it restarts."""
        scoring = self.state.scoring
        if scoring is None or not scoring.gone or time.monotonic() < self._next_restart:
            return
        self._next_restart = time.monotonic() + RESTART_EVERY_S
        log.warning(
            "NotAlone: %s; starting a new scoring process (pages pass unscored meanwhile)", scoring.gone
        )
        self.state.scoring = None
        scoring.close()
        store.increment("scoring.restarted")
        self._launch_scoring(store)

    def _start_scoring(self, store: AlertStore) -> None:
        """On the worker thread: take in the parent's settings, then start the scoring process."""
        assert self.options is not None
        self.refresh(store)
        self._launch_scoring(store)

    def _launch_scoring(self, store: AlertStore) -> None:
        """Start a scoring process for the settings in force and take its model's thresholds; without a
        model traffic still flows, with scoring off and the reason on record."""
        scoring = self.scoring_factory(self.state.settings or self.options)  # type: ignore[arg-type]
        try:
            scoring.start()
        except ScoringUnavailable as e:
            # A warning, not an error: mitmdump treats an error logged while it starts as fatal, and the
            # point is that traffic keeps flowing (the dashboard shows a banner with this reason).
            log.warning("NotAlone: scoring is OFF, traffic passes unscored: %s", e)
            self.write_status(store, scoring_on=False, reason=str(e), version="")
            return
        self.state.scoring = scoring
        self.refresh(store)
        log.info("NotAlone: scoring with model %s in process %s", scoring.version, list(scoring.pids))
        self.write_status(store, scoring_on=True, reason="", version=scoring.version)

    def write_status(self, store: AlertStore, *, scoring_on: bool, reason: str, version: str) -> None:
        settings = self.state.settings or self.options
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

    def refresh(self, store: AlertStore) -> None:
        """Apply what the parent changed in the dashboard."""
        options = self.options
        if options is None:
            return
        parent = store.settings()
        state = self.state
        previous_mode = state.settings.mode if state.settings else options.mode
        state.settings, problems = options.with_parent_settings(parent)
        for problem in problems:
            state.log_once("settings", ValueError(problem))
        children = store.children()
        state.children = ChildMap(
            options.default_child,
            {d.device: d.child for d in store.devices() if d.child},
            frozenset(children),
        )
        state.suppressions = Suppressions.of(store.suppressions())
        if len(state.suppressions.items) != self.false_alarms_in_force:
            # What the proxy has taken in: the dashboard (and the tests) can see a "False alarm" is in force.
            self.false_alarms_in_force = len(state.suppressions.items)
            store.set_setting(FALSE_ALARMS_KEY, self.false_alarms_in_force)
        scoring = state.scoring
        state.analysis.policy = Policy(
            thresholds=dict(scoring.thresholds) if scoring is not None else {},
            overrides=dict(state.settings.threshold_overrides),
            sensitivity={name: dict(c.get("sensitivity") or {}) for name, c in children.items()},
        )
        for listener in self.on_refresh:
            listener(parent)
        self._restart_scoring(store)
        self.retention.maybe_purge(store, state.settings.retention_days)
        if state.settings.mode != previous_mode and isinstance(parent.get("status.proxy"), dict):
            status = parent["status.proxy"]
            self.write_status(
                store,
                scoring_on=status.get("scoring") == "on",
                reason=status.get("reason", ""),
                version=status.get("model_version", ""),
            )
