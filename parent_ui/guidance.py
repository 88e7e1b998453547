"""What the dashboard says to parents: why an alert was raised and what to do, in plain words.

Texts are English keys for :mod:`parent_ui.i18n`; templates translate them with ``_()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from alert_store import Alert

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

# Shown with every scam alert: the urgent scams that target parents through their children.
URGENT_SCAM_STEPS = (
    "If someone says your child is kidnapped, arrested or in hospital and asks for money: "
    "call your child directly first, and the school or the hospital on a number you look up yourself.",
    "Do not transfer money and do not share codes, however urgent the caller sounds.",
    "Contact the police ({emergency}) and report the number or account.",
)

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


def explain(alert: Alert) -> Explanation:
    """The plain-words account of one alert (English keys, translated by the template)."""
    stages = tuple(STAGES.get(stage, (stage.replace("_", " ").capitalize(), "")) for stage in alert.stages)
    talking_points = TALKING_POINTS.get(alert.category, ())
    if alert.category == "help":
        topic = alert.terms[0] if alert.terms else ""
        if topic in HELP_TOPIC_STEPS:
            talking_points = (*talking_points, *HELP_TOPIC_STEPS[topic])
        elif alert.url:
            talking_points = (*talking_points, *TOLD_FROM_WARNING)
    return Explanation(
        why=WHY.get(alert.category, ""),
        stages=stages,
        talking_points=talking_points,
        urgent=URGENT_SCAM_STEPS if alert.category in ("scam", "help") else (),
    )
