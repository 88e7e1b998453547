"""What the classifier returns and accepts: small frozen records that cross package lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("low", "medium", "high")
RISKS = ("scam", "grooming")


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation: who wrote it, and whether it is the child's own turn."""

    sender: str
    text: str
    from_child: bool = False


# What kind of risk an alert is, for the parent's advice. Scam kinds come from the model; "" is unknown.
SCAM_KINDS = (
    "free_currency",  # free Robux / V-Bucks / diamonds, fake giveaways and prizes
    "phishing",  # fake logins, account and bank lures
    "job_crypto",  # "easy job" offers, investment and crypto schemes
    "sextortion",
    "online_kidnapping",  # isolating a child and extorting the family
    "other_scam",
)
GROOMING_KIND = "grooming"


@dataclass(frozen=True)
class RiskEvidence:
    """One risk's own explanation: the phrases that drove it, as typed, and the text around the strongest."""

    evidence: tuple[str, ...] = ()
    snippet: str = ""


@dataclass(frozen=True)
class Score:
    """Risk of one message, page or conversation.

    ``scam`` and ``grooming`` are calibrated probabilities. ``alert`` is the decision at the model's own
    thresholds (``None``, ``"scam"`` or ``"grooming"``) with its ``severity``. ``evidence`` lists the few
    phrases that drove the decision, as they appear in the text; ``snippet`` is at most 500 characters of the
    text around the strongest of them; ``stages`` names the grooming stages seen in a conversation.
    """

    scam: float
    grooming: float
    alert: str | None = None
    severity: str | None = None
    evidence: tuple[str, ...] = ()
    snippet: str = ""
    stages: tuple[str, ...] = ()
    lang: str = ""
    title: str = ""
    # Each risk's own evidence and kind, so a decision for one risk never carries another's explanation.
    by_risk: tuple[tuple[str, RiskEvidence], ...] = ()
    scam_kind: str = ""
    # A sign-in page (a password field, or a title that says so) that names a brand in its title: the brand
    # it claims to be (checked against the page's address by RiskModel.with_url_reputation).
    claimed_brand: str = ""

    def evidence_for(self, risk: str) -> RiskEvidence:
        """``risk``'s own evidence; the top-level evidence when it belongs to ``risk`` (older scores)."""
        for name, own in self.by_risk:
            if name == risk:
                return own
        if self.alert == risk:
            return RiskEvidence(self.evidence, self.snippet)
        return RiskEvidence()

    def kind_for(self, risk: str) -> str:
        return GROOMING_KIND if risk == "grooming" else (self.scam_kind or "other_scam")

    def to_contract(self, item_id: Any) -> dict[str, Any]:
        """The output line of ``notalone score``."""
        return {
            "id": item_id,
            "scam": round(self.scam, 6),
            "grooming": round(self.grooming, 6),
            "alert": self.alert,
            "severity": self.severity,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class PageText:
    """The visible text of an HTML page: its title, body text and link texts, in document order."""

    title: str
    text: str
    links: tuple[str, ...] = field(default_factory=tuple)
    asks_password: bool = False  # the page has a visible password field

    def combined(self) -> str:
        return "\n".join(part for part in (self.title, self.text) if part)
