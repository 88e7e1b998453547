"""Evidence phrases found without compiling their patterns: always the span the compiled pattern finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.evidence import evidence_span, matched_span, phrase_nodes
from classifier.normalize import _LEET_CLASSES, MONEY_TOKEN, evidence_pattern, fold_keep_length

# Normalised words: plain, leetspeak-able, teen-code targets (single and multi-word), digits, underscores.
_WORDS = [
    "free", "robux", "login", "still", "bill", "you", "are", "your", "why", "ok", "okay", "because",
    "khong", "ban", "anh", "em", "so", "tai", "khoan", "i", "am", "do", "not", "gi", "vay", "roi", "nhe",
    "bao", "nhieu", "tuoi", "v", "bucks", "a", "b2b", "x_y", "ß", "ngoai", "moi", "nguoi",
]  # fmt: skip
# How they may be typed, and what may stand between them.
_TYPED = [
    *_WORDS, "FR33", "fr3e", "ffrreeee", "r0bux", "l0g1n", "st1ll", "b|ll", "$t!ll", "u", "ur", "y", "ya",
    "k", "kk", "okela", "oke", "coz", "bc", "ko", "kh", "hok", "bn", "b", "a", "e", "stk", "im", "dont",
    "vbucks", "bnhieu", "bn_tuoi", "mn", "4m", "@m", "B2B", "Ngoài", "KHÔNG", "đ", "3m",
    " ", "  ", ", ", "!", "!!", "|", "$", "@", "_", "-", ".", "\n", "'", "4", "0", "1",
]  # fmt: skip
_PHRASES = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join)
_TEXTS = st.lists(st.sampled_from(_TYPED), max_size=25).map("".join)


_SEPARATORS = ["", " ", "_", "!", "|", "$", "@", ", ", "-", "!!", "||"]


@st.composite
def _phrase_typed_in_a_text(draw):
    """A phrase, and a text holding it typed some way (leetspeak, repeated letters, odd separators)."""
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3))
    typed = []
    for word in words:
        letters = [
            draw(st.sampled_from(_LEET_CLASSES.get(ch, f"[{ch}]")[1:-1])) * draw(st.integers(1, 3))
            for ch in word
        ]
        typed.append("".join(letters))
    middle = "".join(t + draw(st.sampled_from(_SEPARATORS)) for t in typed)
    return " ".join(words), draw(_TEXTS) + draw(st.sampled_from(_SEPARATORS)) + middle + draw(_TEXTS)


@settings(max_examples=3000, deadline=None)
@given(_PHRASES | _PHRASES.map(str.upper), _TEXTS, st.sampled_from(["en", "vi"]))
def test_matching_finds_what_the_compiled_pattern_finds(phrase, text, lang):
    folded = fold_keep_length(text)
    match = evidence_pattern(phrase, lang).search(folded)
    assert matched_span(phrase, lang, folded) == (match.span() if match else None)


@settings(max_examples=3000, deadline=None)
@given(_phrase_typed_in_a_text(), st.sampled_from(["en", "vi"]))
def test_matching_finds_a_phrase_typed_any_way_where_the_compiled_pattern_does(phrase_and_text, lang):
    phrase, text = phrase_and_text
    folded = fold_keep_length(text)
    match = evidence_pattern(phrase, lang).search(folded)
    assert matched_span(phrase, lang, folded) == (match.span() if match else None)


@pytest.mark.parametrize(
    "phrase, text, lang",
    [
        ("free robux", "Get FR33 R0BUX!!! now, free robux", "en"),
        ("so tai khoan", "gui stk di, so tai khoan nhe", "vi"),
        ("i am", "im here, i am", "en"),
        ("khong", "ko bn oi, hok co dau", "vi"),
        ("still", "st!ll $t1ll still", "en"),
        ("still", "xx stilll|| still", "en"),
        ("hi", "hi!! hi", "en"),
    ],
)
def test_a_phrase_looked_for_often_is_found_alike_before_and_after_its_pattern_is_compiled(
    phrase, text, lang
):
    folded = fold_keep_length(text)
    match = evidence_pattern(phrase, lang).search(folded)
    expected = match.span() if match else None
    assert expected is not None
    assert {evidence_span(phrase, lang, folded) for _ in range(30)} == {expected}


def test_phrases_with_a_token_and_long_texts_use_the_compiled_pattern():
    assert phrase_nodes(f"send {MONEY_TOKEN}", "en") is None
    folded = fold_keep_length("please send $500 now")
    assert evidence_span(f"send {MONEY_TOKEN}", "en", folded) == (7, 16)
    long = "word " * 1000 + "free robux"
    assert evidence_span("free robux", "en", long) == (len(long) - 10, len(long))
