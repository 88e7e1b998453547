"""What the dashboard says to parents: why an alert was raised and what to do, in plain words.

Texts are English keys for :mod:`parent_ui.i18n`; templates translate them with ``_()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alert_store import Alert, Incident
from alert_store.kinds import danger_now, fallback_kind

COUNTRY_KEY = "help.country"  # the parent's country, chosen in Settings

CATEGORY_NAMES = {"scam": "Scam", "grooming": "Grooming", "help": "Asked for help"}
SEVERITY_NAMES = {"low": "Low", "medium": "Medium", "high": "High"}

WHY = {
    "scam": "The text looks like a scam: it promises something free or valuable, creates hurry or fear, "
    "or asks for money, a code, a password or personal details.",
    "grooming": "The conversation looks like an adult trying to build a secret, special relationship with "
    "your child: the steps it showed are listed below.",
    "help": 'Your child pressed "Tell my parent" or used the help page. They chose to tell you.',
}

STAGES = {
    "trust_building": (
        "Building trust",
        "Friendly, understanding messages meant to become a trusted friend.",
    ),
    "age_probing": ("Asking age", "Questions about age, school or whether parents are around."),
    "flattery": ("Flattery", 'Compliments about looks or maturity ("you seem older").'),
    "gifts": ("Gifts", "Offers of game currency, skins, gift cards or money."),
    "secrecy": ("Secrecy", "Asking the child to keep the talk a secret or delete messages."),
    "isolation": ("Isolation", "Saying parents or friends would not understand."),
    "private_app": ("Moving to a private app", "Asking to move to another, more private app."),
    "personal_info": ("Personal details", "Asking for address, school, phone number or location."),
    "photo_request": ("Asking for photos", "Asking for photos or video, sometimes private ones."),
    "meeting": ("Meeting in person", "Asking to meet offline."),
}

TALKING_POINTS = {
    "scam": (
        "Stay calm and thank your child for showing you; they did not do anything wrong.",
        'Explain that "free" game currency, prizes and giveaways that ask for a login or a code are traps.',
        "Never share passwords, one-time codes (OTP) or bank details, even with someone who seems official.",
        "If a password was typed in, change it now and turn on two-step verification.",
    ),
    "grooming": (
        "Talk calmly and without blame: the adult is responsible, not your child.",
        "Explain that a friend who asks for secrets, photos or to move to another app is not a real friend.",
        "Do not delete the chat: take screenshots of names, profiles and messages as evidence.",
        "Block and report the account in the app, and contact the police if photos or a meeting "
        "were asked for.",
    ),
    "help": (
        "Thank your child for telling you. This is exactly what you want them to do again next time.",
        "Stay calm and listen first; do not punish them for having been on the site or app.",
        "Ask what happened in their own words, then look at the context below together.",
        "Agree on the next step together: block, report, change a password, or call for help.",
    ),
}

# What to do about what the child chose on the help page (the topic key is the alert's first term).
HELP_TOPIC_STEPS = {
    "secret": (
        "Your child was asked to keep a secret. Tell them that adults who ask children for secrets are "
        "breaking the rules, and that telling you was right.",
        "Look at the chat together, keep screenshots, then block and report the account.",
    ),
    "money": (
        "Your child was asked for money or a code. Do not pay and do not share any code.",
        "If a code or password was already given, change the password and call the bank or the game's "
        "support now.",
    ),
    "photos": (
        "Your child was asked for photos or to meet. Keep the messages as evidence and do not let them "
        "meet anyone alone.",
        "Report the account in the app; if photos were sent or a meeting was planned, contact the police "
        "({emergency}).",
    ),
    "scary": (
        "Your child saw something that frightened them. Listen, tell them it is not their fault, and "
        "help them close it.",
        "Check the app's or browser's safety settings together.",
    ),
    "other": ("Ask what happened in their own words; the note and the app they gave are shown above.",),
}
# A "Tell my parent" press on a warning page: the page itself was a likely scam.
TOLD_FROM_WARNING = (
    'Your child pressed "Tell my parent" on a page the filter warned about: the page and what the filter '
    "saw are shown above.",
    'Explain that "free" game currency, prizes and giveaways that ask for a login or a code are traps.',
)

# Advice that fits the kind of incident (the decision's kind). Lines may name {emergency} and {child_line}:
# the numbers of the parent's country, filled in by the template.
KIND_NAMES = {
    "free_currency": "Free game currency scam",
    "phishing": "Phishing (fake login or account)",
    "job_crypto": "Easy-job or investment scam",
    "sextortion": "Sextortion",
    "online_kidnapping": "Online kidnapping",
    "other_scam": "Scam",
    "grooming": "Grooming",
    "help": "Asked for help",
}

KIND_WHY = {
    "free_currency": "The page or message promises free game currency, skins or prizes (Robux, V-Bucks, "
    "diamonds) in exchange for a login, a code or a payment: a common trap for children.",
    "phishing": "The page or message imitates a login, an account or a bank to make your child type a "
    "password, a one-time code or personal details.",
    "job_crypto": "The text offers easy money: a small online job, an investment or crypto with quick "
    "returns. These schemes take deposits and never pay out.",
    "sextortion": "Someone is threatening to share intimate pictures, or asking for them, to get money or "
    "more pictures. This is a crime against your child, never their fault.",
    "online_kidnapping": "Someone is trying to isolate your child: asking them to go somewhere alone (a "
    "hotel, a rented room), turn off their location, stay on video call and keep it from the family, "
    "often while threatening the family or demanding money from you. Your child may be in danger now.",
    "other_scam": "The text looks like a scam: it creates hurry or fear, or asks for money, a code, a "
    "password or personal details.",
    "grooming": "The conversation looks like an adult trying to build a secret, special relationship with "
    "your child: the steps it showed are marked on the messages below.",
    "help": 'Your child pressed "Tell my parent" or used the help page. They chose to tell you.',
}

KIND_ADVICE = {
    "free_currency": (
        "Stay calm and thank your child for showing you; they did not do anything wrong.",
        'Explain that "free" Robux, V-Bucks, diamonds and skins that ask for a login or a code are traps.',
        "If a game password was typed in, change it now and turn on two-step verification.",
        "Buy game currency only inside the game or from its official store, together.",
    ),
    "phishing": (
        "Ask whether a password, a code or card details were typed in; do not blame them if so.",
        "Change that password now (and on every site that used it) and turn on two-step verification.",
        "If a bank card or banking login was entered, call the bank on the number on the card.",
        "Never share one-time codes (OTP), even with someone who seems official.",
    ),
    "job_crypto": (
        "Explain that real jobs never ask for a deposit and real investments never promise quick returns.",
        "Do not pay any fee or deposit; if money was sent, call the bank now and keep the receipts.",
        "Block the account and report it in the app.",
    ),
    "sextortion": (
        "Tell your child clearly: it is not their fault, and you will help. Stay calm.",
        "Do not pay and do not send anything more: paying leads to more demands.",
        "Keep the messages, names and account links as evidence; do not delete the chat.",
        "Report the account in the app and to the police ({emergency}); ask the platform to remove images.",
    ),
    "online_kidnapping": (
        "Reach your child now, in person or by calling them directly, and make sure they are safe.",
        "If you cannot reach them, or they are somewhere alone they were sent to, call the police now "
        "({emergency}).",
        "Do not transfer money, however urgent or threatening the caller is: this is a known extortion "
        "scheme.",
        "Keep every message, number and account name as evidence.",
    ),
    "other_scam": (
        "Stay calm and thank your child for showing you; they did not do anything wrong.",
        "Never share passwords, one-time codes (OTP) or bank details, even with someone who seems official.",
        "If a password was typed in, change it now and turn on two-step verification.",
    ),
    "grooming": (
        "Talk calmly and without blame: the adult is responsible, not your child.",
        "Explain that a friend who asks for secrets, photos or to move to another app is not a real friend.",
        "Do not delete the chat: export this incident as evidence (below).",
        "Block and report the account in the app, and contact the police ({emergency}) if photos or a "
        "meeting were asked for.",
    ),
    "help": TALKING_POINTS["help"],
}

# The emergency box, only where a child may be in danger now (alert_store.kinds.danger_now).
EMERGENCY_STEPS = (
    "If your child may be in danger now, call the police: {emergency}.",
    "Your child can also call {child_line_name} free on {child_line}.",
    "If someone says your child is kidnapped, arrested or in hospital and asks for money: call your child "
    "directly first, and do not transfer money.",
)

# Kept for the pages and notifications that still explain one alert.
URGENT_SCAM_STEPS = EMERGENCY_STEPS

HELP_RESPONSE = (
    'Say thank you first: "You did the right thing by telling me."',
    "Keep your voice calm; a child who is scolded may not tell you next time.",
    "Do not take the device away as a punishment for asking for help.",
    "If your child is in danger now, call {emergency} (police) or the child helpline {child_line} (free).",
)


@dataclass(frozen=True)
class Explanation:
    why: str
    stages: tuple[tuple[str, str], ...]
    talking_points: tuple[str, ...]
    urgent: tuple[str, ...]
    kind: str = ""


def explain_kind(
    kind: str, *, category: str = "", stages: Iterable[str] = (), terms: Sequence[str] = (), url: str = ""
) -> Explanation:
    """The plain-words account of an incident of ``kind`` (English keys, translated by the template)."""
    kind = kind if kind in KIND_ADVICE else fallback_kind(category or "scam", terms)
    stage_list = tuple(dict.fromkeys(stages))
    named = tuple(STAGES.get(stage, (stage.replace("_", " ").capitalize(), "")) for stage in stage_list)
    talking_points = KIND_ADVICE[kind]
    if kind == "help":
        topic = terms[0] if terms else ""
        if topic in HELP_TOPIC_STEPS:
            talking_points = (*talking_points, *HELP_TOPIC_STEPS[topic])
        elif url:
            talking_points = (*talking_points, *TOLD_FROM_WARNING)
    return Explanation(
        why=KIND_WHY[kind],
        stages=named if kind in ("grooming", "online_kidnapping", "sextortion") else (),
        talking_points=talking_points,
        urgent=EMERGENCY_STEPS if danger_now(kind, stage_list) else (),
        kind=kind,
    )


def explain(alert: Alert) -> Explanation:
    """The account of one alert."""
    return explain_kind(
        alert.kind, category=alert.category, stages=alert.stages, terms=alert.terms, url=alert.url
    )


def explain_incident(incident: Incident, alerts: Sequence[Alert]) -> Explanation:
    """The account of an incident: its kind, every stage its detections showed."""
    first = alerts[0] if alerts else None
    return explain_kind(
        incident.kind,
        category=incident.category,
        stages=[stage for a in alerts for stage in a.stages],
        terms=first.terms if first else (),
        url=incident.url,
    )


CHOICE_NAMES = {
    "went_back": "Went back from the warning page",
    "continued": "Continued anyway past the warning page",
    "told_parent": 'Pressed "Tell my parent"',
}
