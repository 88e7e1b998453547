"""The addon's settings: its mitmproxy options, validated, overlaid with the parent's dashboard choices."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from proxy_addon.access import DEFAULT_HOME_RANGES, HomeRanges, RangeError
from proxy_addon.identity import DEFAULT_CHILD

MODES = ("monitor", "warn", "block")
WORKERS = ("thread", "process")
DEFAULT_MAX_BODY = 2 * 1024 * 1024  # like e2guardian's default
DEFAULT_RANGES = HomeRanges.from_specs(DEFAULT_HOME_RANGES)


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
    worker: str = "process"
    queue_size: int = 256
    refresh_s: int = 3

    def ignores(self, host: str) -> bool:
        """True when the parent chose not to read ``host`` (or any of its subdomains)."""
        host = host.lower().rstrip(".")
        return any(host == p or host.endswith("." + p) for p in self.ignore_hosts)

    def with_parent_settings(self, parent: dict[str, Any]) -> tuple[Settings, list[str]]:
        """Overlay the dashboard's ``mode``, ``ignore_hosts`` and ``allowed_ranges``; return the new
        snapshot and the problems found (a bad value keeps the option's value)."""
        problems: list[str] = []
        mode = parent.get("mode", self.mode)
        if mode not in MODES:
            problems.append(f"mode must be one of {MODES}, not {mode!r}")
            mode = self.mode
        ranges = self.home_ranges
        if parent.get("allowed_ranges"):
            try:
                ranges = HomeRanges.from_specs(list(parent["allowed_ranges"]))
            except (RangeError, TypeError) as e:
                problems.append(f"allowed_ranges: {e}")
        ignore = frozenset(str(h).lower().strip() for h in parent.get("ignore_hosts") or () if str(h).strip())
        return replace(self, mode=mode, home_ranges=ranges, ignore_hosts=ignore), problems
