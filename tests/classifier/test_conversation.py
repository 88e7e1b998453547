"""Grooming is decided per conversation and per counterpart, over time; explicit solicitation aimed at a
child is grooming at high severity in English and Vietnamese; real offenders' held-out chats are caught.

The Perverted-Justice chats are read from ../shared/data inside the tests and never printed: assertions
name counts only.
"""

from __future__ import annotations

import pytest

from classifier.datasets import iter_pj_chats, risk_start
from classifier.records import ChatMessage
from classifier.train import split_of


def _chat(turns: list[tuple[str, str]], child: str = "kid") -> list[ChatMessage]:
    return [ChatMessage(sender=s, text=t, from_child=s == child) for s, t in turns]


SINGLE_BEATS = [
    # A surprise kept secret, in an otherwise ordinary family chat.
    [
        ("aunt", "hi sweetie, how was the science fair?"),
        ("kid", "good we got second place"),
        ("aunt", "that's brilliant, well done!"),
        ("aunt", "don't tell your mum but we're planning a surprise party for her 40th"),
        ("kid", "omg ok i won't"),
        ("aunt", "see you saturday, bring your swimsuit, we're going to the pool after"),
    ],
    # A coach asks ages for the tournament form.
    [
        ("coach", "Reminder: training moved to 5pm Thursday"),
        ("kid", "ok coach"),
        ("coach", "how old are you now? I need birth years for the under-14 registration"),
        ("kid", "13, born 2013"),
        ("coach", "great thanks, your parents will get the form by email"),
    ],
    # Gaming banter.
    [
        ("max", "bro that was the worst play ever lmao"),
        ("kid", "shut up you died first"),
        ("max", "rematch tmrw? add me on discord its easier to voice chat"),
        ("kid", "ok whats ur tag"),
        ("max", "maxplays, see u after school"),
    ],
    # Vietnamese: friends meeting with parents' knowledge.
    [
        ("Lan", "mai đi nhà sách không, mẹ tớ chở"),
        ("kid", "ok để tớ xin mẹ"),
        ("Lan", "mẹ tớ bảo 3h qua đón cậu nha"),
        ("kid", "mẹ tớ đồng ý rồi"),
        ("Lan", "nhớ mang tiền mua truyện nhé"),
    ],
]


@pytest.mark.parametrize("turns", SINGLE_BEATS, ids=["surprise", "coach", "gaming", "vi-friends"])
def test_one_risky_looking_beat_in_an_ordinary_chat_is_not_grooming(shipped_model, turns):
    score = shipped_model.score_conversation(_chat(turns))
    assert score.alert is None, (score.grooming, score.stages)


ESCALATIONS = [
    [
        ("sam", "gg that was a sick clutch"),
        ("kid", "thx lol"),
        ("sam", "how old r u btw"),
        ("kid", "12"),
        ("sam", "ur so mature for 12, way more than the girls my age"),
        ("sam", "dont tell ur parents we talk ok? they wouldnt get it"),
        ("sam", "add me on snap, its private there"),
        ("sam", "send me a pic of u, just for me"),
    ],
    [
        ("Tuấn", "chào em, em chơi liên quân hay ghê"),
        ("kid", "dạ em cảm ơn"),
        ("Tuấn", "em học lớp mấy rồi, bao nhiêu tuổi"),
        ("kid", "em lớp 7"),
        ("Tuấn", "em dễ thương ghê, anh nạp skin cho em nha"),
        ("Tuấn", "đừng kể với bố mẹ nha, chuyện riêng của hai anh em mình thôi"),
        ("Tuấn", "qua telegram nói chuyện cho riêng tư đi em"),
        ("Tuấn", "gửi anh tấm ảnh của em đi"),
    ],
]


# Escalations whose stages are worded loosely: some turns name their stage less clearly than the training
# examples do (the stage model reads it below its own threshold), but those turns read clearly risky, and
# together the turns show flattery, an age probe, a gift, secrecy and a move away from watching eyes.
LOOSELY_WORDED_ESCALATIONS = [
    [
        ("jay", "yo nice build, u did that alone?"),
        ("kid", "ya took me 3 days"),
        ("jay", "thats crazy good. most ppl here are way worse and theyre adults lol"),
        ("kid", "lol thx"),
        ("jay", "u still in elementary or middle?"),
        ("kid", "middle, 6th"),
        ("jay", "i got u a gift card for the shop, check ur inbox"),
        ("kid", "wait rly??"),
        ("jay", "ya. ur parents check ur messages? maybe dont mention it, they might make u give it back"),
        ("jay", "this server logs everything tho. got somewhere else we can talk, just us?"),
    ],
    [
        ("Hải", "em vẽ đẹp thật đó, tự học hả"),
        ("kid", "dạ em tự học trên youtube"),
        ("Hải", "giỏi hơn mấy đứa lớp vẽ của anh nhiều. em nhiêu tuổi r"),
        ("kid", "em 11 tuổi"),
        ("Hải", "anh gửi em bộ bút màu xịn nha, cho anh xin địa chỉ"),
        ("kid", "để em hỏi mẹ"),
        ("Hải", "thôi khỏi hỏi, mẹ em lại nghĩ lung tung. cứ gửi tới trường cũng đc"),
        ("Hải", "mà qua zalo nói chuyện đi em, ở đây nhiều người đọc lắm"),
    ],
]


@pytest.mark.parametrize(
    "turns",
    ESCALATIONS + LOOSELY_WORDED_ESCALATIONS,
    ids=["en", "vi", "loosely-worded-en", "loosely-worded-vi"],
)
def test_a_counterpart_who_escalates_through_stages_is_grooming(shipped_model, turns):
    messages = _chat(turns)
    full = shipped_model.score_conversation(messages)
    assert full.alert == "grooming", (full.grooming, full.stages)
    assert len(full.stages) >= 2
    first = shipped_model.first_alert_turn(messages)
    assert first is not None and first >= 3  # once a second stage shows, not from "hi"


def test_the_childs_own_turns_never_make_a_conversation_grooming(shipped_model):
    turns = [
        ("friend", "what are you doing this weekend"),
        ("kid", "dont tell my mom but i want to dye my hair blue"),
        ("friend", "haha cool, send a pic after"),
        ("kid", "ok add me on snap, its easier"),
    ]
    assert shipped_model.score_conversation(_chat(turns)).alert is None


# No real Vietnamese explicit chat exists to learn from; the project's written examples are non-graphic and
# leave some such requests (words for underwear, say) below the alert threshold (model card, limitations).
VI_EXPLICIT_GAP = pytest.mark.xfail(reason="too little Vietnamese explicit data", strict=False)


@pytest.mark.parametrize(
    "text",
    [
        "send me a photo of you in your underwear",
        "what color bra are you wearing right now? you can tell me",
        "turn your camera on and take your shirt off, nobody will know",
        pytest.param("gửi cho anh ảnh em mặc đồ lót đi", marks=VI_EXPLICIT_GAP),
        "bật cam lên cởi áo ra cho anh xem, không ai biết đâu",
        "e da hon ai chua, a day e nhe",
    ],
)
def test_sexual_talk_and_image_requests_aimed_at_a_child_are_high_severity_grooming(shipped_model, text):
    score = shipped_model.score_message(text)
    assert score.alert == "grooming", (score.scam, score.grooming)
    assert score.severity == "high"


@pytest.fixture(scope="module")
def held_out_pj(shared_data):
    """Offender and decoy sides of the Perverted-Justice chats on the held-out (test) side of the split."""
    offenders, decoys = [], []
    for row in iter_pj_chats(shared_data):
        if split_of(f"pj:{row['chat']}") != "test":
            continue
        turns = [m for m in row["messages"] if isinstance(m, str) and m.strip()][:300]
        (offenders if row["role"] == "predator" else decoys).append(turns)
    return offenders[:25], decoys[:25]


def test_real_offenders_held_out_chats_are_caught_after_the_risk_starts(shipped_model, held_out_pj):
    offenders, _ = held_out_pj
    caught = early = 0
    for turns in offenders:
        first = shipped_model.first_alert_turn([ChatMessage("them", t) for t in turns])
        if first is not None:
            caught += 1
            early += first < (risk_start(turns) or 0)
    assert len(offenders) >= 20
    assert caught >= 0.75 * len(offenders), f"{caught} of {len(offenders)} caught"
    assert early <= 0.2 * len(offenders), f"{early} alerted before the risk started"


def test_short_pieces_of_real_offenders_chats_are_caught_when_their_turns_stay_risky(
    shipped_model, held_out_pj
):
    """A piece of ten turns from after the risk starts, as a detector sees a chat it joins late: an offender
    whose turns keep reading clearly risky is not one beat, even when they read as no stage or one.
    (With two distinct stages required, 30 % of these pieces alerted.)"""
    offenders, _ = held_out_pj
    pieces = caught = 0
    for turns in offenders:
        start = risk_start(turns)
        if start is None:
            continue
        for k in range(start, len(turns) - 9, 10):
            pieces += 1
            piece = [ChatMessage("them", t) for t in turns[k : k + 10]]
            caught += shipped_model.score_conversation(piece).alert == "grooming"
    assert pieces >= 300
    assert caught >= 0.35 * pieces, f"{caught} of {pieces} pieces caught"


def test_decoy_sides_are_a_childs_side_and_never_make_a_chat_grooming(shipped_model, held_out_pj):
    """A child's own turns never count, however they read; an ordinary counterpart stays quiet."""
    _, decoys = held_out_pj
    alerted = 0
    for turns in decoys:
        messages = []
        for i, text in enumerate(turns[:60]):
            messages.append(ChatMessage("kid", text, from_child=True))
            messages.append(ChatMessage("friend", "haha ok" if i % 2 else "what are you up to later?"))
        alerted += shipped_model.score_conversation(messages).alert is not None
    assert alerted == 0, f"{alerted} of {len(decoys)} chats alerted"


@pytest.mark.parametrize(
    "text, kind",
    [
        (
            "FREE 10,000 ROBUX!! enter your username and password at robux-gift.xyz before it ends",
            "free_currency",
        ),
        ("Your bank account is locked. Verify your identity now at secure-bank-verify.com/login", "phishing"),
        (
            "Công an thông báo em liên quan vụ án, không được nói với bố mẹ, tắt định vị và đến khách sạn "
            "ngay, bố mẹ phải chuyển tiền bảo lãnh",
            "online_kidnapping",
        ),
    ],
)
def test_a_scam_says_what_kind_it_is(shipped_model, text, kind):
    score = shipped_model.score_message(text)
    assert score.alert == "scam" and score.scam_kind == kind
