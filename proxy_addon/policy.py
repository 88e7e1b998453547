"""When a score becomes an alert: the model's thresholds, the parent's overrides and each child's
sensitivity, applied in one place for the worker's alerts and the warn/block pages alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from classifier.model import Thresholds
from classifier.records import Score

RISKS = ("scam", "grooming")
# A child's sensitivity scales the threshold: "high" alerts earlier, "low" only on stronger evidence.
SENSITIVITY_FACTORS = {"low": 1.25, "normal": 1.0, "high": 0.75}
MIN_THRESHOLD, MAX_THRESHOLD = 0.05, 0.99
FALLBACK = Thresholds(alert=0.5, medium=0.75, high=0.92)


@dataclass(frozen=True)
class Decision:
    category: str
    severity: str
    probability: float


@dataclass(frozen=True)
class AlertPolicy:
    """``thresholds``: the model's own per risk (alert, medium, high); ``overrides``: the parent's alert
    threshold per risk; ``sensitivity``: child -> risk -> "low" | "normal" | "high"."""

    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    overrides: Mapping[str, float] = field(default_factory=dict)
    sensitivity: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def threshold(self, risk: str, child: str) -> float:
        base = self.overrides.get(risk, self.thresholds.get(risk, FALLBACK).alert)
        level = self.sensitivity.get(child, {}).get(risk, "normal")
        scaled = base * SENSITIVITY_FACTORS.get(level, 1.0)
        return min(MAX_THRESHOLD, max(MIN_THRESHOLD, scaled))

    def decide(self, score: Score, child: str) -> Decision | None:
        """The alert ``score`` calls for, for this child: the risk furthest past its threshold, or None."""
        best: tuple[float, str, float] | None = None
        for risk in RISKS:
            p = min(1.0, max(0.0, float(getattr(score, risk))))
            ratio = p / self.threshold(risk, child)
            if ratio >= 1.0 and (best is None or ratio > best[0]):
                best = (ratio, risk, p)
        if best is None:
            return None
        _, risk, p = best
        cuts = self.thresholds.get(risk, FALLBACK)
        severity = "high" if p >= cuts.high else "medium" if p >= cuts.medium else "low"
        return Decision(risk, severity, p)
