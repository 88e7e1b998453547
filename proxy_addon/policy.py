"""The proxy's view of the one decision point (:mod:`classifier.decision`)."""

from __future__ import annotations

from classifier.decision import FALLBACK, SENSITIVITY_FACTORS, Decision, Policy, Thresholds

# The addon still builds its policy under this name.
AlertPolicy = Policy

__all__ = ["FALLBACK", "SENSITIVITY_FACTORS", "AlertPolicy", "Decision", "Thresholds"]
