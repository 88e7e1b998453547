"""The hand-written corpus: valid schema, no near-duplicates, and the breadth the product needs."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from classifier.corpus import CorpusError, find_near_duplicates, iter_corpus, parse_item, word_4grams


@pytest.fixture(scope="module")
def corpus():
    return list(iter_corpus())


def test_every_item_follows_the_schema(corpus):
    assert corpus, "the corpus is empty"


def test_no_two_items_share_more_than_a_quarter_of_their_word_4grams(corpus):
    duplicates = find_near_duplicates(corpus)
    assert not duplicates, "\n".join(
        f"{d.first} ~ {d.second}: {d.shared} shared 4-grams ({d.fraction:.0%})" for d in duplicates[:30]
    )


def test_the_duplicate_check_catches_a_reworded_copy():
    a = parse_item(
        {
            "id": "a",
            "label": "scam",
            "lang": "vi",
            "kind": "message",
            "scenario": "x",
            "platform": "zalo",
            "text": "Chúc mừng bạn đã trúng thưởng một chiếc iPhone 15 Pro Max",
        },
        "t",
    )
    b = parse_item(
        {
            "id": "b",
            "label": "scam",
            "lang": "vi",
            "kind": "message",
            "scenario": "x",
            "platform": "zalo",
            "script": "no_diacritics",
            "text": "chuc mung ban da trung thuong mot chiec xe SH",
        },
        "t",
    )
    assert word_4grams(a) & word_4grams(b)
    assert [(d.first, d.second) for d in find_near_duplicates([a, b])] == [("a", "b")]


def test_bad_items_are_refused_with_the_reason():
    with pytest.raises(CorpusError, match="label"):
        parse_item(
            {
                "id": "x",
                "label": "spam",
                "lang": "en",
                "kind": "message",
                "scenario": "s",
                "platform": "sms",
                "text": "hi",
            },
            "t",
        )
    with pytest.raises(CorpusError, match="hard negatives"):
        parse_item(
            {
                "id": "x",
                "label": "scam",
                "lang": "en",
                "kind": "message",
                "scenario": "s",
                "platform": "sms",
                "hard_negative": True,
                "text": "hi",
            },
            "t",
        )


def test_corpus_breadth_matches_the_brief(corpus):
    """At least 800 scam items (>= 350 Vietnamese); 400 grooming conversations of 6-30 turns plus 300
    single grooming messages (>= 40 % Vietnamese); 1,500 benign with >= 500 hard negatives (>= 40 % vi)."""
    scam = [i for i in corpus if i.label == "scam"]
    grooming_convs = [i for i in corpus if i.label == "grooming" and i.kind == "conversation"]
    grooming_msgs = [i for i in corpus if i.label == "grooming" and i.kind != "conversation"]
    benign = [i for i in corpus if i.label == "benign"]
    grooming = grooming_convs + grooming_msgs
    assert len(scam) >= 800 and sum(i.lang == "vi" for i in scam) >= 350
    assert len(grooming_convs) >= 400 and all(6 <= len(i.messages) <= 30 for i in grooming_convs)
    assert len(grooming_msgs) >= 300
    assert sum(i.lang == "vi" for i in grooming) >= 0.4 * len(grooming)
    assert len(benign) >= 1500 and sum(i.hard_negative for i in benign) >= 500
    assert sum(i.lang == "vi" for i in benign) >= 0.4 * len(benign)


def test_corpus_covers_kinds_platforms_and_vietnamese_scripts(corpus):
    kinds = Counter(i.kind for i in corpus)
    assert all(kinds[k] >= 100 for k in ("message", "page", "conversation"))
    platforms = {i.platform for i in corpus}
    assert {"discord", "roblox", "instagram", "tiktok", "zalo", "messenger", "free_fire", "sms"} <= platforms
    scripts = Counter(i.script for i in corpus if i.lang == "vi")
    assert scripts["no_diacritics"] >= 100 and scripts["teencode"] >= 100


def test_grooming_conversations_mark_their_stages(corpus):
    for item in corpus:
        if item.label == "grooming" and item.kind == "conversation":
            stages = [m.get("stage") for m in item.messages if m.get("stage")]
            assert stages, f"{item.id} shows no grooming stage"
            assert all(m.get("stage") is None for m in item.messages if m["role"] == "child"), item.id


def test_corpus_files_are_plain_utf8_json_lines():
    from classifier.corpus import CORPUS_DIR

    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                assert isinstance(json.loads(line), dict)
