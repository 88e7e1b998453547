"""What kind of risk an incident is, for the parent's advice: the classifier's decision kinds, their order
of seriousness, and a kind derived from category and terms for alerts written before kinds were stored.

Kept here rather than imported from ``classifier`` because the store must stay importable without the model
(the dashboard and the CLI read it); the names match ``classifier.records.SCAM_KINDS`` and ``GROOMING_KIND``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

SCAM_KINDS = ("free_currency", "phishing", "job_crypto", "sextortion", "online_kidnapping", "other_scam")
KINDS = (*SCAM_KINDS, "grooming", "help")

# Most serious first: when detections of different kinds fold into one incident, it takes the most serious.
# A chat that shows grooming and then isolation and threats is online kidnapping; a grooming chat that once
# mentions free Robux stays grooming.
SERIOUSNESS = (
    "help",
    "online_kidnapping",
    "sextortion",
    "grooming",
    "phishing",
    "job_crypto",
    "free_currency",
    "other_scam",
)

# Kinds where a child may be in danger now: their advice carries the emergency box.
DANGER_NOW = frozenset({"online_kidnapping", "sextortion", "help"})
# Grooming stages that mean a meeting or a location is in play: danger now as well.
DANGER_NOW_STAGES = frozenset({"meeting", "personal_info"})

_FALLBACK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "online_kidnapping",
        re.compile(
            r"kidnap|bat coc|ransom|tien chuoc|hotel|khach san|turn off (your )?location|tat (dinh vi|vi tri)"
            r"|dont tell your (mum|mom|dad|parents|family)|hurt your (mum|mom|dad|family)"
        ),
    ),
    ("sextortion", re.compile(r"sextort|nude|naked|anh nong|nhay cam|khoa than|leak (your|ur) (photo|pic)")),
    ("job_crypto", re.compile(r"\bjob\b|viec nhe|viec lam|crypto|bitcoin|usdt|dau tu|invest|hoa hong")),
    (
        "free_currency",
        re.compile(r"robux|v-?bucks|kim cuong|diamond|free fire|quan huy|skin|giveaway|mien phi|free"),
    ),
    (
        "phishing",
        re.compile(r"password|mat khau|log ?in|dang nhap|\botp\b|verify|xac minh|account|tai khoan"),
    ),
)


def fold(text: str) -> str:
    """Lower case without Vietnamese accents or apostrophes, so patterns match however the text was typed."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold().replace("'", "").replace("\u2019", "")


def fallback_kind(category: str, terms: Iterable[str] = (), text: str = "") -> str:
    """A kind for an alert stored without one: from its category, then the words that drove it."""
    if category in ("grooming", "help"):
        return category
    haystack = fold(" ".join([*terms, text]))
    for kind, pattern in _FALLBACK_PATTERNS:
        if pattern.search(haystack):
            return kind
    return "other_scam"


def more_serious(a: str, b: str) -> str:
    """The more serious of two kinds (an unknown kind counts as the least serious)."""
    rank = {k: i for i, k in enumerate(SERIOUSNESS)}
    return a if rank.get(a, len(rank)) <= rank.get(b, len(rank)) else b


def category_of(kind: str) -> str:
    return kind if kind in ("grooming", "help") else "scam"


def danger_now(kind: str, stages: Iterable[str] = ()) -> bool:
    """Whether a child may be in danger now: the emergency box and the urgent advice belong here."""
    return kind in DANGER_NOW or (kind == "grooming" and bool(DANGER_NOW_STAGES.intersection(stages)))
