"""Real pages read from fetched repositories' git snapshots (classifier.fetched_pages) for training."""

from __future__ import annotations

from classifier.datasets import load_fetched_pages
from classifier.fetched_pages import FETCHED_PAGE_SOURCES, markdown_text
from classifier.snapshots import snapshot_commit


def test_every_sources_pages_are_read_from_its_snapshot_as_ordinary_pages(snapshot_mirror):
    pages = {ex.group: ex for ex in load_fetched_pages() if ex.label == "benign"}
    assert set(pages) == {
        "page:mozilla/readability:test/test-pages/city-news/source.html",
        "page:scrapinghub/article-extraction-benchmark:html/0001.html.gz",
        "page:hhursev/recipe-scrapers:example.com",  # a site's pages stay on one side of the split
        "page:Roblox/creator-docs:content/en-us/production/earning-on-roblox.md",
        "page:duckduckgo/duckduckgo-autofill:bank_example",
        "page:pro-misee/uk-cyber-fraud-assistant-work:data_sources_v3/advice/scraped/advice.json#0",
    }  # expected.html and the checkout form are not pages the patterns name; the too-short page, and the
    # record without content, are skipped
    assert {ex.label for ex in pages.values()} == {"benign"} and {ex.kind for ex in pages.values()} == {
        "page"
    }
    news = pages["page:mozilla/readability:test/test-pages/city-news/source.html"]
    assert news.source == "pages:readability-test-pages" and news.lang == "en"
    assert news.text.startswith("Council approves new cycle lanes\n") and "protected cycle lanes" in news.text
    assert (
        "Local team wins the cup"
        in pages["page:scrapinghub/article-extraction-benchmark:html/0001.html.gz"].text
    )
    advice = pages[
        "page:pro-misee/uk-cyber-fraud-assistant-work:data_sources_v3/advice/scraped/advice.json#0"
    ]
    assert advice.source == "pages:uk-fraud-advice"
    assert advice.text.startswith("Gift card scams\nGift card scams") and "won a prize" in advice.text


def test_a_markdown_page_reads_as_its_rendered_page():
    title, text = markdown_text(
        "---\ntitle: Earning on Roblox\n---\n## Overview\nBuy [passes](../passes.md) and **Robux** _now_."
        " ![chart](a.png) <Alert>Note</Alert> `user_id`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert title == "Earning on Roblox"
    assert "Overview" in text and "Buy passes and Robux now." in text and "Note user_id" in text
    for sign in ("](", "##", "**", "a.png", "<Alert>", "|", "---"):
        assert sign not in text


def test_a_snapshot_that_is_not_here_is_skipped(snapshot_mirror, monkeypatch, tmp_path):
    assert all(snapshot_commit(source.repository) for source in FETCHED_PAGE_SOURCES)
    monkeypatch.setenv("NOTALONE_PAGE_MIRROR", str(tmp_path))
    assert load_fetched_pages() == []
    assert snapshot_commit("mozilla/readability") is None


def test_phishing_kits_pages_are_scams_grouped_by_kit_without_their_php():
    scams = [ex for ex in load_fetched_pages() if ex.label == "scam"]
    by_source = {}
    for ex in scams:
        by_source.setdefault(ex.source, []).append(ex)
    assert set(by_source) == {
        source.example_source for source in FETCHED_PAGE_SOURCES if source.label == "scam"
    }
    assert all(ex.kind == "page" and ex.scam_kind for ex in scams)
    office = by_source["phishing-pages:phishing-kits-office"]
    # One kit is one side of the split; its __MACOSX/._office.php litter is no page of it.
    assert len(office) == 2 and len({ex.group for ex in office}) == 1
    shared = next(ex for ex in office if ex.text.startswith("One Drive"))
    assert "A document has been shared with you" in shared.text
    assert "kit settings" not in shared.text and "antibot" not in shared.text
    prize = by_source["phishing-pages:fake-prize-free-fire"][0]
    assert prize.lang == "vi" and prize.scam_kind == "free_currency"
    # A kit's back end (ip.php) is not a page the pattern names.
    assert [ex.text.split("\n")[0] for ex in by_source["phishing-pages:phishing-kits-zphisher"]] == [
        "Example Bank - Sign in"
    ]
