"""Which bodies the addon reads: HTML, plain text, JSON and forms; everything else passes unread."""

from __future__ import annotations


def content_kind(content_type: str) -> str | None:
    """``"html"``, ``"text"``, ``"json"``, ``"form"`` or None for content the addon does not read."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("text/html", "application/xhtml+xml"):
        return "html"
    if ctype == "text/plain":
        return "text"
    if ctype == "application/json" or ctype.endswith("+json"):
        return "json"
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return "form"
    return None
