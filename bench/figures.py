"""The one shape every benchmark's ``--json`` mode prints: a list of figures, each with its target."""

from __future__ import annotations

import json
import operator
from typing import Any

Figure = dict[str, Any]
_COMPARE = {">=": operator.ge, "<=": operator.le}


def figure(benchmark: str, metric: str, value: float, unit: str, target: str = "") -> Figure:
    """One measured figure; ``target`` reads like ``">= 0.9"`` or ``"<= 100"`` (empty: no target)."""
    return {
        "benchmark": benchmark,
        "metric": metric,
        "value": round(float(value), 3),
        "unit": unit,
        "target": target,
    }


def print_json(figures: list[Figure]) -> None:
    print(json.dumps(figures))


def meets(fig: Figure) -> bool | None:
    """Whether the figure meets its target; None without one."""
    op, _, bound = str(fig.get("target", "")).strip().partition(" ")
    if op not in _COMPARE or not bound:
        return None
    return _COMPARE[op](float(fig["value"]), float(bound))


def ratio(fig: Figure) -> float | None:
    """value / target bound (for '<=' targets, below 1 is good; for '>=', above 1 is)."""
    _, _, bound = str(fig.get("target", "")).strip().partition(" ")
    try:
        return float(fig["value"]) / float(bound) if float(bound) else None
    except ValueError:
        return None
