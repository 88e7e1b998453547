"""Geometry for the overview's bar charts. The SVG itself is a Jinja template, so every label is escaped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alert_store import DayCount

BAR_HEIGHT = 22
ROW_GAP = 10
LABEL_WIDTH = 140
CHART_WIDTH = 560


@dataclass(frozen=True)
class Segment:
    category: str
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class Row:
    child: str
    total: int
    y: float
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class BarChart:
    """One horizontal stacked bar per child, one segment per category."""

    rows: tuple[Row, ...]
    width: int
    height: int
    label_width: int
    max_total: int


def tally(counts: Iterable[DayCount], since_day: str) -> Counter[tuple[str, str]]:
    """Alerts per (child, category) on or after the ISO day ``since_day``."""
    totals: Counter[tuple[str, str]] = Counter()
    for c in counts:
        if c.day >= since_day:
            totals[c.child, c.category] += c.count
    return totals


def bar_chart(
    totals: Counter[tuple[str, str]], children: Sequence[str], categories: Sequence[str]
) -> BarChart:
    names = list(dict.fromkeys([*children, *(child for child, _ in totals)]))
    per_child = {name: sum(totals[name, cat] for cat in categories) for name in names}
    max_total = max(per_child.values(), default=0)
    scale = (CHART_WIDTH - LABEL_WIDTH - 50) / max_total if max_total else 0.0
    rows = []
    for i, name in enumerate(names):
        x = float(LABEL_WIDTH)
        segments = []
        for cat in categories:
            n = totals[name, cat]
            if n:
                segments.append(Segment(cat, n, x, max(n * scale, 2.0)))
                x += max(n * scale, 2.0)
        rows.append(Row(name, per_child[name], i * (BAR_HEIGHT + ROW_GAP), tuple(segments)))
    height = max(1, len(rows)) * (BAR_HEIGHT + ROW_GAP)
    return BarChart(tuple(rows), CHART_WIDTH, height, LABEL_WIDTH, max_total)
