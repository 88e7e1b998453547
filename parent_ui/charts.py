"""Geometry for the overview's bar charts: one row per child, one stacked bar of incidents per category.

Labels and totals are HTML text (legible at any width, escaped by autoescape); only the bar is an SVG
whose segments are placed in percent of the largest total, so it stretches to fit a phone or a desktop
without scaling the text (a style attribute would be refused by the dashboard's CSP).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class Countable(Protocol):
    day: str
    child: str
    category: str
    count: int


@dataclass(frozen=True)
class Segment:
    category: str
    count: int
    x: float  # percent of the bar's width
    width: float


@dataclass(frozen=True)
class Row:
    child: str  # "" for devices not yet assigned
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class BarChart:
    """One horizontal stacked bar per child, one segment per category."""

    rows: tuple[Row, ...]
    max_total: int


def tally(counts: Iterable[Countable], since_day: str) -> Counter[tuple[str, str]]:
    """Counts per (child, category) on or after the ISO day ``since_day``."""
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
    if not per_child.get("", 0):  # devices not yet assigned get a row only when they have incidents
        names = [n for n in names if n]
    max_total = max(per_child.values(), default=0)
    scale = 100.0 / max_total if max_total else 0.0
    rows = []
    for name in names:
        x = 0.0
        segments = []
        for cat in categories:
            if n := totals[name, cat]:
                width = max(n * scale, 1.0)
                segments.append(Segment(cat, n, round(x, 2), round(width, 2)))
                x += width
        rows.append(Row(name, per_child[name], tuple(segments)))
    return BarChart(tuple(rows), max_total)
