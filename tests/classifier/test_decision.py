"""The one decision point: overrides and sensitivity pick the risk, and the decision carries that risk's
own evidence and snippet, never the other risk's."""

from __future__ import annotations

from classifier.decision import Policy, Thresholds, decide
from classifier.records import RiskEvidence, Score

MODEL = {"scam": Thresholds(0.5, 0.75, 0.92), "grooming": Thresholds(0.5, 0.75, 0.92)}
SCAM_OWN = RiskEvidence(("free robux", "claim now"), "claim now: free robux for the first 100")
GROOMING_OWN = RiskEvidence(("our secret",), "this is our secret ok")


def _score(scam: float, grooming: float, **kw) -> Score:
    return Score(
        scam=scam,
        grooming=grooming,
        by_risk=(("scam", SCAM_OWN), ("grooming", GROOMING_OWN)),
        scam_kind="free_currency",
        stages=("secrecy",),
        **kw,
    )


def test_below_every_threshold_is_no_decision() -> None:
    assert decide(_score(0.3, 0.2), Policy(MODEL)) is None


def test_the_risk_furthest_past_its_threshold_wins_with_its_own_evidence() -> None:
    decision = decide(_score(0.8, 0.55), Policy(MODEL))
    assert decision is not None
    assert (decision.category, decision.kind, decision.severity) == ("scam", "free_currency", "medium")
    assert decision.evidence == SCAM_OWN.evidence and decision.snippet == SCAM_OWN.snippet
    assert decision.stages == ()


def test_a_parent_override_can_turn_the_decision_to_the_other_risk_and_its_evidence() -> None:
    # With the parent's lower grooming threshold, grooming is further past its threshold than scam.
    decision = decide(_score(0.55, 0.4), Policy(MODEL, overrides={"grooming": 0.2}))
    assert decision is not None
    assert decision.category == "grooming" and decision.kind == "grooming"
    assert decision.evidence == GROOMING_OWN.evidence and decision.snippet == GROOMING_OWN.snippet
    assert decision.stages == ("secrecy",)


def test_a_childs_sensitivity_moves_only_that_childs_threshold() -> None:
    policy = Policy(MODEL, sensitivity={"an": {"grooming": "high"}, "minh": {"grooming": "low"}})
    score = _score(0.1, 0.45)
    assert decide(score, policy, "an") is not None  # 0.45 >= 0.5 * 0.75
    assert decide(score, policy, "minh") is None
    assert decide(score, policy, "someone else") is None
    assert decide(_score(0.1, 0.6), policy, "minh") is None  # 0.6 < 0.5 * 1.25


def test_a_risk_without_its_own_evidence_decides_with_none_rather_than_borrowing() -> None:
    score = Score(scam=0.9, grooming=0.1, by_risk=(("grooming", GROOMING_OWN),))
    decision = decide(score, Policy(MODEL))
    assert decision is not None and decision.category == "scam"
    assert decision.evidence == () and decision.snippet == ""
