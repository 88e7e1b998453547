"""The child's help pages, rendered: the form at ``http://notalone.home.arpa/`` and the answers to it.

``home.arpa`` is the name reserved for home networks (RFC 8375), so the help host can never be somebody
else's site. Every text that came from outside (the helpline setting) is escaped; the pages use no JavaScript.
"""

from __future__ import annotations

import html
import re

from proxy_addon.help_text import DEFAULT_HELPLINE, MESSAGES, TOPIC_LABELS, TOPICS, lessons
from proxy_addon.interstitial import MESSAGES as WARNING_MESSAGES
from proxy_addon.pages import render_page

HELP_HOST = "notalone.home.arpa"
HELP_URL = f"http://{HELP_HOST}/"
NOTE_MAX_CHARS = 1000
APP_MAX_CHARS = 100
RESULTS = ("thanks", "limited", "failed", "expired")
# Drawn inline: emoji fonts are missing on some devices, and the pages load nothing from anywhere.
_SVG = '<svg class="face" viewBox="0 0 64 64" width="56" height="56" aria-hidden="true" focusable="false">'
HEART = (
    _SVG + '<circle cx="32" cy="32" r="31" fill="#ffe3a3"/>'
    '<path d="M32 50 C14 38 12 28 16 22 C20 16 28 16 32 23 C36 16 44 16 48 22 C52 28 50 38 32 50 Z" '
    'fill="#e0564b"/></svg>'
)
CLOCK = (
    _SVG + '<circle cx="32" cy="32" r="31" fill="#ffe3a3"/>'
    '<circle cx="32" cy="32" r="20" fill="#fff" stroke="#8a6d3b" stroke-width="4"/>'
    '<path d="M32 20 V32 L40 38" stroke="#8a6d3b" stroke-width="4" fill="none" stroke-linecap="round"/></svg>'
)
_FACES = {"thanks": HEART, "limited": HEART, "failed": HEART, "expired": CLOCK}
_PHONE = re.compile(r"\+?[0-9][0-9 .-]{1,18}[0-9]")


def helpline_number(setting: object) -> str:
    """The helpline the parent configured, if it looks like a phone number; Vietnam's 111 otherwise."""
    text = str(setting).strip() if setting is not None else ""
    return text if _PHONE.fullmatch(text) else DEFAULT_HELPLINE


def _text(lang: str) -> dict[str, str]:
    return MESSAGES.get(lang, MESSAGES["en"])


def render_helpline(lang: str, helpline: str) -> str:
    """The box that always shows the helpline and says to call it or a trusted adult in danger."""
    text = _text(lang)
    number = helpline_number(helpline)
    link = f'<a href="tel:{html.escape(number.replace(" ", ""))}">{html.escape(number)}</a>'
    line = html.escape(text["helpline"]).replace("$helpline", link)
    about = f"<br>{html.escape(text['helpline_111'])}" if number == "111" else ""
    return f'  <p class="helpline" id="helpline" role="note">{line}{about}</p>'


def render_help_form(*, lang: str, token: str, helpline: str) -> str:
    """The help page: big choices, an optional note and app, the helpline, a language switch."""
    text = _text(lang)
    other = "vi" if lang == "en" else "en"
    topics = "\n".join(
        f'      <label class="choice"><input type="radio" name="topic" value="{key}" id="topic-{key}">'
        f" <span>{html.escape(TOPIC_LABELS[lang][key])}</span></label>"
        for key in TOPICS
    )
    return render_page(
        "help.html",
        lang=lang,
        title=html.escape(text["title"]),
        style="help.css",
        heading=html.escape(text["heading"]),
        intro=html.escape(text["intro"]),
        switch_href=html.escape(f"/?lang={other}"),
        switch_lang=other,
        switch_label=html.escape(text["switch"]),
        token=html.escape(token),
        question=html.escape(text["question"]),
        topics=topics,
        note_label=html.escape(text["note"]),
        note_hint=html.escape(text["note_hint"]),
        note_max=NOTE_MAX_CHARS,
        app_label=html.escape(text["app"]),
        send=html.escape(text["send"]),
        helpline=render_helpline(lang, helpline),
        face=HEART,
    )


def render_result(
    *, lang: str, result: str, helpline: str, lesson: str | None = None, back_url: str | None = None
) -> str:
    """The answer to a help request: ``thanks`` (with what to remember next time), ``limited`` (too many
    this hour), ``failed`` (the store is down) or ``expired`` (no valid form token). Every one of them shows
    the helpline: whatever happened, the child is never left without a way to get help."""
    if result not in RESULTS:
        raise ValueError(f"result must be one of {RESULTS}, not {result!r}")
    text = _text(lang)
    lessons_html = ""
    if result == "thanks" and lesson:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lessons(lang, lesson))
        lessons_html = (
            f'  <section class="lessons" id="lessons"><h2>{html.escape(text["next_time"])}</h2>'
            f"<ul>{items}</ul></section>"
        )
    links = []
    if back_url:
        back_label = html.escape(WARNING_MESSAGES.get(lang, WARNING_MESSAGES["en"])["back"])
        links.append(f'    <a class="button" id="go-back" href="{html.escape(back_url)}">{back_label}</a>')
    links.append(
        f'    <a class="button quiet" id="open-help" href="{html.escape(HELP_URL)}?lang={lang}">'
        f"{html.escape(text['back_to_help'])}</a>"
    )
    title, message = {
        "thanks": (text["thanks_title"], text["thanks"]),
        "limited": (text["limited_title"], text["limited"]),
        "failed": (text["failed_title"], text["failed"]),
        "expired": (text["expired_title"], text["expired"]),
    }[result]
    return render_page(
        "help_result.html",
        lang=lang,
        title=html.escape(title),
        style="help.css",
        result=result,
        face=_FACES[result],
        message=html.escape(message),
        lessons=lessons_html,
        helpline=render_helpline(lang, helpline),
        links="\n".join(links),
    )
