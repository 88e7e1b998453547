"""Helpers for the dashboard tests, importable by name (pytest's conftest modules are not)."""

from __future__ import annotations

import re

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
