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


def valid_unicode(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD.

    mitmproxy's ``get_text(strict=False)`` keeps undecodable bytes as surrogate escapes (a wrong or missing
    charset, binary served as text); such a string cannot be hashed, stored or sent to the scoring process.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text
