"""The addon's settings: its mitmproxy options, validated, overlaid with the parent's dashboard choices."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from alert_store import MODES, SettingKey
from proxy_addon.access import DEFAULT_HOME_RANGES, HomeRanges, RangeError
from proxy_addon.identity import DEFAULT_CHILD

DEFAULT_MAX_BODY = 2 * 1024 * 1024  # like e2guardian's default
DEFAULT_RANGES = HomeRanges.from_specs(DEFAULT_HOME_RANGES)
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Settings:
    """One immutable snapshot; the addon swaps in a new one when options or the parent's settings change."""

    data_dir: Path
    mode: str = "monitor"
    max_body: int = DEFAULT_MAX_BODY
    home_ranges: HomeRanges = DEFAULT_RANGES
    dashboard: str = ""
    ignore_hosts: frozenset[str] = frozenset()
    default_child: str = DEFAULT_CHILD
    model: str = ""
    model_factory: str = ""
    queue_size: int = 256
    refresh_s: int = 3
    threshold_overrides: tuple[tuple[str, float], ...] = ()
    retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def dashboard_port(self) -> int | None:
        _, _, port = self.dashboard.rpartition(":")
        return int(port) if port.isdigit() else None

    def is_dashboard(self, host: str, pretty_host: str, port: int) -> bool:
        """True for a request to the dashboard's own address (as configured, host:port)."""
        return bool(self.dashboard) and self.dashboard in (
            f"{host}:{port}".lower(),
            f"{pretty_host}:{port}".lower(),
        )

    def ignores(self, host: str) -> bool:
        """True when the parent chose not to read ``host`` (or any of its subdomains)."""
        host = host.lower().rstrip(".")
        return any(host == p or host.endswith("." + p) for p in self.ignore_hosts)

    def with_parent_settings(self, parent: dict[str, Any]) -> tuple[Settings, list[str]]:
        """Overlay what the parent chose in the dashboard (mode, allowed clients, hosts never read, alert
        thresholds, retention); return the new snapshot and the problems found (a bad value keeps the
        option's value)."""
        problems: list[str] = []
        mode = parent.get(SettingKey.MODE, self.mode)
        if mode not in MODES:
            problems.append(f"{SettingKey.MODE} must be one of {MODES}, not {mode!r}")
            mode = self.mode
        ranges = self.home_ranges
        if parent.get(SettingKey.ALLOWED_CLIENTS):
            try:
                ranges = HomeRanges.from_specs(list(parent[SettingKey.ALLOWED_CLIENTS]))
            except (RangeError, TypeError) as e:
                problems.append(f"{SettingKey.ALLOWED_CLIENTS}: {e}")
        ignore = self.ignore_hosts | frozenset(
            str(h).lower().strip().removeprefix("*.")
            for h in parent.get(SettingKey.IGNORE_HOSTS) or ()
            if str(h).strip()
        )
        overrides = []
        for risk in ("scam", "grooming"):
            value = parent.get(SettingKey.threshold(risk))
            if value is None:
                continue
            if isinstance(value, (int, float)) and 0.0 < float(value) < 1.0:
                overrides.append((risk, float(value)))
            else:
                problems.append(f"{SettingKey.threshold(risk)} must be a probability, not {value!r}")
        retention = parent.get(SettingKey.RETENTION_DAYS, self.retention_days)
        if not isinstance(retention, int) or retention < 1:
            problems.append(f"{SettingKey.RETENTION_DAYS} must be a whole number >= 1, not {retention!r}")
            retention = self.retention_days
        return (
            replace(
                self,
                mode=mode,
                home_ranges=ranges,
                ignore_hosts=ignore,
                threshold_overrides=tuple(overrides),
                retention_days=retention,
            ),
            problems,
        )
