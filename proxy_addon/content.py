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


# An HTML parser checks the stack of open elements for every block-level start tag, so markup with tens
# of thousands of unclosed <div>s costs time quadratic in their number (200,000 took the classifier two
# minutes). Pages past this bound are skipped and counted; real pages stay far below it.
MAX_UNCLOSED_TAGS = 20_000


def unclosed_tags(html: str) -> int:
    """An upper bound on how deep ``html`` nests: start tags minus end tags (comments and doctypes aside).

    Void elements (``<br>``, ``<img>``) count too, so this over-estimates; it is a cheap guard, a few
    string scans, run before the page is parsed."""
    opening = html.count("<") - html.count("<!")
    closing = html.count("</")
    return opening - 2 * closing
