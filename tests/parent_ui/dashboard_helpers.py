"""Helpers for the dashboard tests, importable by name (pytest's conftest modules are not)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from alert_store import Alert

PASSWORD = "correct horse battery"
CHILDREN = ("An", "Binh")


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def make_alert(**overrides: object) -> Alert:
    values: dict = {
        "child": "An",
        "category": "scam",
        "severity": "medium",
        "probability": 0.8,
        "snippet": "Claim your free Robux now, just enter your password",
        "terms": ("free robux",),
        "url": "https://scam.example/claim?token=secret",
        "app": "web",
    }
    values.update(overrides)
    return Alert(**values)


class _FormReader(HTMLParser):
    """What a browser would submit for the first form on a page whose ``action`` is ``action``."""

    def __init__(self, action: str | None) -> None:
        super().__init__()
        self.action = action
        self.fields: dict[str, str] = {}
        self._inside = self._done = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and a.get("action") == self.action:
            self._inside = True
        if not self._inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self.fields[self._select] = value

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "form" and self._inside:
            self._inside, self._done = False, True


def form_fields(html: str, action: str | None = None) -> dict[str, str]:
    """The fields of the page's form (the one without an ``action``, unless one is named) as submitted."""
    reader = _FormReader(action)
    reader.feed(html)
    assert reader.fields, f"no form with action {action!r}"
    return reader.fields
