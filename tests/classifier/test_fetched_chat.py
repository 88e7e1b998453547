"""Children's own chat lines read from fetched repositories' snapshots (classifier.fetched_chat)."""

from __future__ import annotations

from classifier.datasets import Example, load_kids_chat
from classifier.fetched_chat import FETCHED_CHAT_SOURCES, usable_lines
from classifier.train import teaches


def test_chat_lines_are_read_from_each_snapshot_grouped_by_player_or_post(snapshot_mirror):
    lines = {line.text: line.group for source in FETCHED_CHAT_SOURCES for line in usable_lines(source)}
    assert lines == {
        # a command (";fly me"), a line under three words ("ok") and a line said again in capitals are skipped
        "who wants to play tag": "0ysterAreGod/Roblox_Chat_Logs:@skyblue_22",
        "i love ur avatar fr": "0ysterAreGod/Roblox_Chat_Logs:@leothelion",
        "my mom said i can get a dog if my grades go up": "kulkarohan/reddit-recommender:a1",
        "anyone else think math homework is, like, way too long": "kulkarohan/reddit-recommender:a3",
    }


def test_chat_lines_are_benign_messages_that_teach_the_grooming_classifier_only(snapshot_mirror):
    examples = load_kids_chat()
    assert len(examples) == 4
    assert {(ex.label, ex.kind, ex.lang) for ex in examples} == {("benign", "message", "en")}
    assert {ex.source for ex in examples} == {"kids-chat:roblox-hangouts", "kids-chat:r-teenagers"}
    # One player's lines share a group, so they stay on one side of the split.
    assert examples[0].group.startswith("kids-chat:0ysterAreGod/Roblox_Chat_Logs:@")
    chat = examples[0]
    written = Example("free robux here", "scam", "en", "message", "corpus", "corpus:x")
    assert teaches(chat, "grooming") and not teaches(chat, "scam")
    assert teaches(written, "scam") and teaches(written, "grooming")


def test_a_machine_without_the_snapshots_trains_without_them(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTALONE_PAGE_MIRROR", str(tmp_path))
    assert load_kids_chat() == []
