"""Real ordinary web pages from public repositories, read from their git snapshots at train time.

News articles, blogs, recipes and Roblox's creator documentation: the kinds of page a child opens every day
and that a model which learned pages from SMS spam and phishing e-mail mistakes for scams; and real phishing
pages. Read from the repositories' snapshots (:mod:`classifier.snapshots`).
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

from classifier.snapshots import SnapshotSource, read_file


@dataclass(frozen=True)
class FetchedPageSource(SnapshotSource):
    """One repository's pages (``form``: "html", a PHP page's code removed, "html.gz", "markdown" or
    "json-records"). The path pattern's first group, when it has one, names the pages kept on one side of
    the train/test split together: one site's pages, one kit's."""

    label: str = "benign"
    scam_kind: str | None = None
    min_chars: int = 200  # shorter pages are skipped; 40 for phishing kits: a cloned login page says little
    languages: tuple[str, ...] = ("en",)  # of the product's two, the ones the source holds

    @property
    def example_source(self) -> str:
        return f"{'pages' if self.label == 'benign' else 'phishing-pages'}:{self.name}"


FETCHED_PAGE_SOURCES: tuple[FetchedPageSource, ...] = (
    # Readability.js's test pages: real news, blog and encyclopedia pages saved whole (many sites, several
    # languages).
    FetchedPageSource(
        "readability-test-pages", "mozilla/readability", r"^test/test-pages/[^/]+/source\.html$", "html"
    ),
    # Zyte's article extraction benchmark: 181 real news and blog article pages, gzipped.
    FetchedPageSource(
        "article-extraction-benchmark",
        "scrapinghub/article-extraction-benchmark",
        r"^html/[^/]+\.html\.gz$",
        "html.gz",
    ),
    # recipe-scrapers' test pages: real recipe pages of several hundred cooking sites.
    FetchedPageSource(
        "recipe-scrapers", "hhursev/recipe-scrapers", r"^tests/test_data/([^/]+)/.+\.testhtml$", "html"
    ),
    # DuckDuckGo autofill's test forms: the login and sign-up parts of real sites' pages (banks, webmail,
    # Google, Microsoft, Steam, universities...), saved as the sites served them.
    FetchedPageSource(
        "login-and-signup-forms",
        "duckduckgo/duckduckgo-autofill",
        r"^test-forms/([^/]+)_(?:login|signup)\.html$",
        "html",
    ),
    # UK consumer advice about fraud and scams (Action Fraud, NCSC, FCA, Get Safe Online, Which?...), as a
    # study project scraped it: pages that describe scams to warn about them.
    FetchedPageSource(
        "uk-fraud-advice",
        "pro-misee/uk-cyber-fraud-assistant-work",
        r"^data_sources_v3/[^/]+/scraped/[^/]+\.json$",
        "json-records",
    ),
    # Real phishing pages: the pages of phishing kits (cloned login pages of Microsoft, Google, PayPal,
    # Instagram, Steam, banks...) and of fake prize sites, as the kits serve them (their PHP removed).
    FetchedPageSource(
        "phishing-kits-zphisher",
        "htr-tech/zphisher",
        r"^\.sites/([^/]+)/(?:login\d*|mobile|pass)\.(?:html|php)$",
        "html",
        label="scam",
        scam_kind="phishing",
        min_chars=40,
    ),
    FetchedPageSource(
        "phishing-kits-hiddeneye",
        "DarkSecDevelopers/HiddenEye",
        r"^WebPages/([^/]+)/(?:index\d*|mobile|login\d*|pass)\.(?:html|php)$",
        "html",
        label="scam",
        scam_kind="phishing",
        min_chars=40,
    ),
    FetchedPageSource(
        "phishing-kits-office",
        "ag-michael/phishingkits",
        r"^(comcast|efax|gfrmedia\.com|hostingum\.com|napier\.fusiondev\.com|onedrive-3D9|semotem99\.com)/"
        r".+\.(?:html?|php)$",
        "html",
        label="scam",
        scam_kind="phishing",
        min_chars=40,
    ),
    # Vietnamese and English fake Free Fire prize pages ("nhận quà", lucky spins) that ask for a game login.
    FetchedPageSource(
        "fake-prize-free-fire",
        "dinhvan2310/html",
        r"^(?:themes|login/fb_themes)/(theme\d+)/(?:index|en|success)\.php$",
        "html",
        label="scam",
        scam_kind="free_currency",
        min_chars=40,
        languages=("en", "vi"),
    ),
    # Archived real scam pages aimed at gamers: fake Steam gift and login pages, fake tournament sites.
    FetchedPageSource(
        "gamer-scam-pages",
        "barnacl437/scampages-datamine",
        r"^archive/type/(?:steamcommunity\.com|match\.tf|general-scams)/\d+/\d+/([^/]+)/.+\.html$",
        "html",
        label="scam",
        scam_kind="phishing",
        min_chars=40,
    ),
    # Roblox's creator documentation (create.roblox.com/docs), English, as Markdown: Robux, earnings, prizes
    # and accounts talked about by the platform itself.
    FetchedPageSource("roblox-creator-docs", "Roblox/creator-docs", r"^content/en-us/.+\.md$", "markdown"),
)


@dataclass(frozen=True)
class FetchedPage:
    source: str
    path: str
    title: str | None  # None for HTML: the page's own <title> is read by the extractor
    content: str  # HTML, or the Markdown's text


def read_pages(source: FetchedPageSource, path: str, root: Path | None = None) -> list[FetchedPage]:
    """The page (or, for JSON records, the pages) of one file of a source's snapshot; none when the file
    cannot be read."""
    blob = read_file(source.repository, path, root)
    if blob is not None and source.form == "html.gz":
        try:
            blob = gzip.decompress(blob)
        except (OSError, EOFError):
            blob = None
    if blob is None:
        return []
    text = blob.decode("utf-8", "replace")
    if source.form == "markdown":
        return [FetchedPage(source.name, path, *markdown_text(text))]
    if source.form == "json-records":
        try:
            records = json.loads(text)
        except ValueError:
            return []
        return [
            FetchedPage(
                source.name, f"{path}#{i}", str(r.get("title") or ""), markdown_text(str(r["content"]))[1]
            )
            for i, r in enumerate(records if isinstance(records, list) else [records])
            if isinstance(r, dict) and r.get("content")
        ]
    if path.endswith(".php"):
        text = _PHP.sub(" ", text)
    return [FetchedPage(source.name, path, None, text)]


def page_group(source: FetchedPageSource, path: str) -> str:
    """What keeps related pages on one side of the split: the pattern's first group (a kit's brand, a
    theme), else the file itself."""
    found = re.match(source.path_pattern, path.split("#", 1)[0])
    key = found.group(1) if found and found.re.groups and found.group(1) else path
    return f"page:{source.repository}:{key}"


_PHP = re.compile(r"<\?(?:php|=)?.*?(?:\?>|\Z)", re.S | re.I)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_FRONT_TITLE = re.compile(r"^title:\s*(.+)$", re.M)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")
_LINE_MARKUP = re.compile(r"^\s{0,3}(?:#{1,6}\s+|[-*+]\s+|>\s?)|^\s*\|?[-: |]+\|?\s*$|\|", re.M)
_EMPHASIS = re.compile(r"\*{1,3}|`{1,3}|(?<!\w)_{1,3}(?=\w)|(?<=\w)_{1,3}(?!\w)")  # not snake_case's


def markdown_text(markdown: str) -> tuple[str, str]:
    """``(title, text)`` of a Markdown document as its rendered page reads: front matter's title, then the
    words with link targets, images, tags and markup signs removed."""
    title = ""
    front = _FRONT_MATTER.match(markdown)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        title = found.group(1).strip().strip("'\"") if found else ""
        markdown = markdown[front.end() :]
    text = _LINK.sub(r"\1", _IMAGE.sub(" ", markdown))
    text = _EMPHASIS.sub("", _LINE_MARKUP.sub(" ", _TAG.sub(" ", text)))
    return title, re.sub(r"[ \t]+", " ", text).strip()
