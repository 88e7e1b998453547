"""Real offenders' held-out chats (Perverted-Justice, ../shared/data) are caught, early but not from their
greeting, whole or in pieces; the decoys' sides, a child's side, never make a chat grooming.

PYTEST_DONT_REWRITE: that text is never printed, logged or shown. Assertion rewriting would show the
values of an assertion's parts (a list of turns among them) when it fails, so it is off for this module:
every assertion compares counts held in plain integers, and its message names counts only.
"""

from __future__ import annotations

import pytest

from classifier.datasets import iter_pj_chats, risk_start
from classifier.records import ChatMessage
from classifier.train import PIECE_MESSAGES, both_sides, split_of

CHATS = 25
MAX_TURNS = 300


@pytest.fixture(scope="module")
def held_out_chats(shared_data):
    """The first held-out chats' sides, as ``{"predator": turns, "decoy": turns}``."""
    chats: dict[str, dict[str, list[str]]] = {}
    for row in iter_pj_chats(shared_data):
        if split_of(f"pj:{row['chat']}") != "test":
            continue
        turns = [m for m in row["messages"] if isinstance(m, str) and m.strip()][:MAX_TURNS]
        chats.setdefault(row["chat"], {})[row["role"]] = turns
    return list(chats.values())[:CHATS]


def _sides(chats, role: str) -> list[list[str]]:
    return [chat[role] for chat in chats if chat.get(role)]


def test_offenders_are_caught_early_but_not_from_their_greeting(shipped_model, held_out_chats):
    offenders = _sides(held_out_chats, "predator")
    total = len(offenders)
    caught = opening = 0
    for turns in offenders:
        first = shipped_model.first_alert_turn([ChatMessage("them", t) for t in turns])
        caught += first is not None
        # A greeting and the small talk after it are no evidence: nothing alerts on an offender's first
        # three turns alone.
        opening += first is not None and first <= 2
    assert total >= 20, f"only {total} held-out offenders"
    assert caught >= 0.75 * total, f"{caught} of {total} caught"
    assert opening == 0, f"{opening} of {total} alerted on their first three turns"


def test_pieces_of_an_offenders_side_after_the_risk_starts_are_caught(shipped_model, held_out_chats):
    """Ten turns from after the risk starts, as a detector sees a chat it joins late: an offender whose talk
    keeps reading as grooming is not one beat, even when no single turn is clear on its own. (With two
    distinct stages required, 30 % of these pieces alerted; with two clearly risky turns as well, 38 %.)"""
    pieces = caught = 0
    for turns in _sides(held_out_chats, "predator"):
        start = risk_start(turns)
        if start is None:
            continue
        for k in range(start, len(turns) - 9, 10):
            pieces += 1
            piece = [ChatMessage("them", t) for t in turns[k : k + 10]]
            caught += shipped_model.score_conversation(piece).alert == "grooming"
    assert pieces >= 300, f"only {pieces} pieces"
    assert caught >= 0.6 * pieces, f"{caught} of {pieces} pieces caught"


def test_pieces_of_whole_chats_with_nobody_marked_as_the_child_are_caught(shipped_model, held_out_chats):
    """Pieces of both sides alternating (PIECE_MESSAGES, 20), nobody marked as the child, as a log cut by
    time is scored (the model card's PAN12-like figure): small talk before the risk included."""
    pieces = caught = 0
    for chat in held_out_chats:
        both = both_sides(chat.get("predator", []), chat.get("decoy", []))
        for start in range(0, len(both), PIECE_MESSAGES):
            pieces += 1
            caught += (
                shipped_model.score_conversation(both[start : start + PIECE_MESSAGES]).alert == "grooming"
            )
    assert pieces >= 300, f"only {pieces} pieces"
    assert caught >= 0.6 * pieces, f"{caught} of {pieces} pieces caught"


def test_decoy_sides_are_a_childs_side_and_never_make_a_chat_grooming(shipped_model, held_out_chats):
    """A child's own turns never count, however they read; an ordinary counterpart stays quiet."""
    decoys = _sides(held_out_chats, "decoy")
    total = len(decoys)
    alerted = 0
    for turns in decoys:
        messages = []
        for i, text in enumerate(turns[:60]):
            messages.append(ChatMessage("kid", text, from_child=True))
            messages.append(ChatMessage("friend", "haha ok" if i % 2 else "what are you up to later?"))
        alerted += shipped_model.score_conversation(messages).alert is not None
    assert total >= 20, f"only {total} held-out decoy sides"
    assert alerted == 0, f"{alerted} of {total} chats alerted"
