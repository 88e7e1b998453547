"""Visible text of an HTML page: what a child reads, without scripts, styles or hidden elements."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from classifier.records import PageText

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head"]
_HIDDEN_SELECTORS = (
    "[hidden], [aria-hidden='true'], input[type='hidden'], "
    "[style*='display:none'], [style*='display: none'], "
    "[style*='visibility:hidden'], [style*='visibility: hidden']"
)
# Runs of whitespace other than a single plain space (those are the common case: leaving them in place
# keeps the substitution cheap on long pages).
_SPACES = re.compile(r"(?: ?[\t\r\f\v\u00a0\u200b]| {2,})[ \t\r\f\v\u00a0\u200b]*")
# Far more than the model reads (classifier.model.MAX_PAGE_CHARS); the rest of a long page is not kept.
MAX_TEXT_CHARS = 20_000
_BLANK_LINES = re.compile(r"\n\s*\n+")
MAX_LINKS = 200


def extract_visible_text(html: str) -> PageText:
    """Title, visible body text (its first ``MAX_TEXT_CHARS``) and link targets of ``html``.

    Never raises on malformed markup: the parser repairs it as a browser would.
    """
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = _SPACES.sub(" ", title_node.text(strip=True)) if title_node else ""
    links = tuple(
        href for a in tree.css("a[href]")[:MAX_LINKS] if (href := (a.attributes.get("href") or "").strip())
    )
    for node in tree.css(_HIDDEN_SELECTORS):
        node.decompose()
    tree.strip_tags(_INVISIBLE_TAGS)
    root = tree.body or tree.root
    text = root.text(separator=" ", strip=True)[: 2 * MAX_TEXT_CHARS] if root else ""
    text = _BLANK_LINES.sub("\n", _SPACES.sub(" ", text)).strip()[:MAX_TEXT_CHARS]
    return PageText(title=title[:300], text=text, links=links)
