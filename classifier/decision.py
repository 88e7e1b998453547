"""The one decision point: a score, the model's thresholds, the parent's overrides and the child's
sensitivity become at most one alert decision, carrying the chosen risk's own evidence and snippet.

Pure: no I/O. The model's own ``Score.alert`` (what ``notalone score`` prints), the proxy's alerts and the
warn/block guard all call :func:`decide`; nothing else compares a probability with a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from classifier.records import RISKS, Score

# A child's sensitivity scales the threshold: "high" alerts earlier, "low" only on stronger evidence.
SENSITIVITY_FACTORS = {"low": 1.25, "normal": 1.0, "high": 0.75}
SENSITIVITIES = tuple(SENSITIVITY_FACTORS)
MIN_THRESHOLD, MAX_THRESHOLD = 0.05, 0.99
# Grooming that shows one of these stages is high severity whatever its probability: sexual talk, questions or
# image requests aimed at a child.
EXPLICIT_STAGES = frozenset({"sexual_talk", "photo_request"})


@dataclass(frozen=True)
class Thresholds:
    """Decision threshold and severity cut-points of one risk, chosen on validation data."""

    alert: float
    medium: float
    high: float

    def severity(self, p: float) -> str:
        return "high" if p >= self.high else "medium" if p >= self.medium else "low"


FALLBACK = Thresholds(alert=0.5, medium=0.75, high=0.92)


@dataclass(frozen=True)
class Decision:
    """An alert: which risk, its kind (e.g. ``"phishing"``, ``"online_kidnapping"``, ``"grooming"``), how
    severe, the probability that drove it, and that risk's own evidence and snippet."""

    category: str
    kind: str
    severity: str
    probability: float
    evidence: tuple[str, ...] = ()
    snippet: str = ""
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """``thresholds``: the model's own per risk; ``overrides``: the parent's alert threshold per risk;
    ``sensitivity``: child -> risk -> "low" | "normal" | "high"."""

    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    overrides: Mapping[str, float] = field(default_factory=dict)
    sensitivity: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def threshold(self, risk: str, child: str = "") -> float:
        base = self.overrides.get(risk, self.thresholds.get(risk, FALLBACK).alert)
        level = self.sensitivity.get(child, {}).get(risk, "normal")
        scaled = base * SENSITIVITY_FACTORS.get(level, 1.0)
        return min(MAX_THRESHOLD, max(MIN_THRESHOLD, scaled))

    def decide(self, score: Score, child: str = "") -> Decision | None:
        return decide(score, self, child)


def decide(score: Score, policy: Policy, child: str = "") -> Decision | None:
    """The alert ``score`` calls for, for this child: the risk furthest past its threshold, or None.

    The decision carries that risk's own evidence (``score.evidence_for(risk)``), never another risk's.
    """
    best: tuple[float, str, float] | None = None
    for risk in RISKS:
        p = min(1.0, max(0.0, float(getattr(score, risk))))
        ratio = p / policy.threshold(risk, child)
        if ratio >= 1.0 and (best is None or ratio > best[0]):
            best = (ratio, risk, p)
    if best is None:
        return None
    _, risk, p = best
    cuts = policy.thresholds.get(risk, FALLBACK)
    own = score.evidence_for(risk)
    explicit = risk == "grooming" and not EXPLICIT_STAGES.isdisjoint(score.stages)
    return Decision(
        category=risk,
        kind=score.kind_for(risk),
        severity="high" if explicit else cuts.severity(p),
        probability=p,
        evidence=own.evidence,
        snippet=own.snippet,
        stages=score.stages if risk == "grooming" else (),
    )
