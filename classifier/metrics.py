"""Precision, recall, F1, PR-AUC and the benign false-alert rate: the figures the model card reports."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score


def label_metrics(is_label: Sequence[bool], alerted: Sequence[bool], proba: Sequence[float]) -> dict:
    """Figures for one label: ``is_label`` the truth, ``alerted`` the decision, ``proba`` the score."""
    y = np.asarray(is_label, dtype=bool)
    a = np.asarray(alerted, dtype=bool)
    tp = int((y & a).sum())
    fp = int((~y & a).sum())
    fn = int((y & ~a).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {
        "n": len(y),
        "positives": int(y.sum()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }
    if 0 < y.sum() < len(y):
        result["pr_auc"] = round(float(average_precision_score(y, np.asarray(proba, dtype=float))), 4)
    return result


def false_alert_rate(labels: Sequence[str], alerts: Sequence[str | None]) -> dict:
    """Share of benign items that raised any alert."""
    benign = [a for label, a in zip(labels, alerts, strict=True) if label == "benign"]
    flagged = sum(1 for a in benign if a is not None)
    return {
        "benign": len(benign),
        "false_alerts": flagged,
        "rate": round(flagged / len(benign), 4) if benign else 0.0,
    }


def report(labels: Sequence[str], alerts: Sequence[str | None], scores: dict[str, Sequence[float]]) -> dict:
    """Per-label metrics and the benign false-alert rate for one set of items."""
    out: dict = {}
    for label, proba in scores.items():
        if any(lab == label for lab in labels):
            out[label] = label_metrics([lab == label for lab in labels], [a == label for a in alerts], proba)
    out["benign_false_alerts"] = false_alert_rate(labels, alerts)
    return out


def choose_threshold(
    is_label: Sequence[bool],
    proba: Sequence[float],
    is_benign: Sequence[bool],
    max_false_alert_rate: float,
    is_hard_negative: Sequence[bool] | None = None,
    max_hard_negative_rate: float = 1.0,
    capped_groups: Sequence[Sequence[bool]] = (),
    max_group_rate: float = 1.0,
) -> float:
    """The threshold with the best F1 among those that keep benign false alerts under the cap, false
    alerts on the hard negatives (benign text that looks risky) under their own, looser cap, and false
    alerts within each of ``capped_groups`` (masks of benign items, e.g. one real source's ordinary
    messages) under ``max_group_rate``: a small source must not carry all the false alerts."""
    y = np.asarray(is_label, dtype=bool)
    p = np.asarray(proba, dtype=float)
    benign = np.asarray(is_benign, dtype=bool)
    hard = np.zeros_like(benign) if is_hard_negative is None else np.asarray(is_hard_negative, dtype=bool)
    groups = [np.asarray(g, dtype=bool) for g in capped_groups]
    best_t, best_f1 = 0.5, -1.0
    for t in np.unique(np.round(np.concatenate([p[y], np.linspace(0.05, 0.95, 91)]), 4)):
        alerted = p >= t
        far = (alerted & benign).sum() / max(1, benign.sum())
        hard_far = (alerted & hard).sum() / max(1, hard.sum())
        if far > max_false_alert_rate or hard_far > max_hard_negative_rate:
            continue
        if any((alerted & g).sum() > max_group_rate * g.sum() for g in groups):
            continue
        tp = (alerted & y).sum()
        precision = tp / max(1, alerted.sum())
        recall = tp / max(1, y.sum())
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1 or (f1 == best_f1 and t < best_t):
            best_t, best_f1 = float(t), f1
    return best_t


def precision_cut(
    is_label: Sequence[bool], proba: Sequence[float], floor: float, min_precision: float, min_alerts: int = 20
) -> float:
    """The lowest threshold at or above ``floor`` from which alerts were right at least ``min_precision``
    of the time (with at least ``min_alerts`` alerts to judge by); 0.99 when no threshold qualifies.

    Severity cut-points come from this, so that "high" means the same thing for every risk and model."""
    y = np.asarray(is_label, dtype=bool)
    p = np.asarray(proba, dtype=float)
    for t in np.unique(np.round(np.concatenate([[floor], p[p >= floor]]), 4)):
        alerted = p >= t
        if alerted.sum() < min_alerts:
            break
        if (alerted & y).sum() / alerted.sum() >= min_precision:
            return float(t)
    return 0.99
