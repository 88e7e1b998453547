"""Visible text of an HTML page: what a child reads, without scripts, styles or hidden elements."""

from __future__ import annotations

import html as html_module
import re

from selectolax.lexbor import LexborHTMLParser

from classifier.records import PageText

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head"]
# Navigation and boilerplate around the main content ("Log in", "Sign up", "Free shipping", menus, cookie
# notes, footers): words every site carries, so they say nothing of a page and must not drive its score.
_BOILERPLATE_SELECTORS = (
    "nav, footer, aside, [role='navigation'], [role='contentinfo'], [role='complementary']"
)
_HIDDEN_SELECTORS = (
    "[hidden], [aria-hidden='true'], input[type='hidden'], "
    "[style*='display:none'], [style*='display: none'], "
    "[style*='visibility:hidden'], [style*='visibility: hidden']"
)
_REMOVED_SELECTORS = ", ".join((_HIDDEN_SELECTORS, _BOILERPLATE_SELECTORS, *_INVISIBLE_TAGS))
# Horizontal whitespace other than a plain space; every run of these and spaces becomes one space.
_ODD_SPACES = ("\t", "\r", "\f", "\v", "\u00a0", "\u200b")
# Far more than the model reads (classifier.model.MAX_PAGE_CHARS); the rest of a long page is not kept.
MAX_TEXT_CHARS = 20_000
_BLANK_LINES = re.compile(r"\n\s*\n+")
MAX_LINKS = 200
# An HTML parser checks its stack of open elements for every start tag, so markup with tens of thousands of
# unclosed elements costs time quadratic in their number (200,000 unclosed <div>s took two minutes). Past
# this bound the text is taken out with linear regular expressions instead: cruder, never slow, and a scam
# page padded with junk markup is still read.
MAX_UNCLOSED_TAGS = 5_000
_FLAT_INVISIBLE = re.compile(r"<(script|style|noscript|template|svg|head|title)\b.*?</\1\s*>", re.S | re.I)
_FLAT_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.S | re.I)
_FLAT_HREF = re.compile(r"<a\b[^>]*?\bhref\s*=\s*[\"']?([^\"'\s>]+)", re.I)
_FLAT_TAG = re.compile(r"<[^>]*>?")
_FLAT_PASSWORD = re.compile(r"<input\b[^>]*?\btype\s*=\s*[\"']?password\b", re.I)


def collapse_spaces(text: str) -> str:
    """``text`` with every run of spaces, tabs, carriage returns, form feeds, vertical tabs, no-break and
    zero-width spaces made one space (newlines kept).

    String replacements rather than one regular expression: a regex engine tries a match at every space of
    a long page, which cost more than the rest of extraction.
    """
    for odd in _ODD_SPACES:
        text = text.replace(odd, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text


def unclosed_tags(html: str) -> int:
    """An upper bound on how deep ``html`` nests: start tags minus end tags, from a few string scans."""
    return html.count("<") - html.count("<!") - 2 * html.count("</")


def _extract_flat(html: str) -> PageText:
    title = _FLAT_TITLE.search(html)
    links = tuple(m.group(1) for m in _FLAT_HREF.finditer(html, 0, 2_000_000))[:MAX_LINKS]
    text = html_module.unescape(_FLAT_TAG.sub(" ", _FLAT_INVISIBLE.sub(" ", html)))
    text = _BLANK_LINES.sub("\n", collapse_spaces(text)).strip()[:MAX_TEXT_CHARS]
    clean_title = (
        collapse_spaces(html_module.unescape(_FLAT_TAG.sub(" ", title.group(1)))).strip() if title else ""
    )
    asks_password = _FLAT_PASSWORD.search(html, 0, 2_000_000) is not None
    return PageText(title=clean_title[:300], text=text, links=links, asks_password=asks_password)


def extract_visible_text(html: str) -> PageText:
    """Title, visible main text (its first ``MAX_TEXT_CHARS``; navigation, footers and sidebars left out),
    link targets of ``html`` and whether it shows a password field.

    Never raises on malformed markup: the parser repairs it as a browser would (and markup nested too deep
    to parse quickly is read without a parser).
    """
    # unclosed_tags() is never more than the number of "<": most pages are decided by that one count.
    if html.count("<") > MAX_UNCLOSED_TAGS and unclosed_tags(html) > MAX_UNCLOSED_TAGS:
        return _extract_flat(html)
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = collapse_spaces(title_node.text(strip=True)) if title_node else ""
    links = tuple(
        href for a in tree.css("a[href]")[:MAX_LINKS] if (href := (a.attributes.get("href") or "").strip())
    )
    # Hidden, boilerplate and invisible elements out, found in one pass over the tree: each selector looks
    # at an element alone, so this removes what removing each kind in turn did. (A node already removed with
    # an ancestor, or matched twice, is only detached again: harmless.)
    for node in tree.css(_REMOVED_SELECTORS):
        node.decompose()
    asks_password = tree.css_first("input[type='password' i]") is not None
    root = tree.body or tree.root
    text = root.text(separator=" ", strip=True)[: 2 * MAX_TEXT_CHARS] if root else ""
    text = _BLANK_LINES.sub("\n", collapse_spaces(text)).strip()[:MAX_TEXT_CHARS]
    return PageText(title=title[:300], text=text, links=links, asks_password=asks_password)
