"""``notalone alerts``: incidents newest first, the --json shape of issue 14, the text form."""

from __future__ import annotations

import json

from click.testing import CliRunner

from alert_store import UNASSIGNED_CHILD, Alert, AlertStore, ChatTurn, DataDir
from notalone.cli import main

T0 = 1_800_000_000.0
KEYS = {
    "id", "category", "kind", "severity", "child", "device", "first_seen", "last_seen", "detections",
    "url", "app", "counterpart", "choices",
}  # fmt: skip


def seed(root: DataDir) -> None:
    with AlertStore(root.database) as store:
        page = dict(child="An", device="ip:1", category="scam", kind="free_currency", probability=0.9)
        first = store.add(
            Alert(
                **page, severity="medium", snippet="free robux", url="https://r.example/c?x=1", created_at=T0
            )
        )
        store.add(
            Alert(
                **page,
                severity="high",
                snippet="free robux now",
                url="https://r.example/c",
                created_at=T0 + 5,
            )
        )
        store.record_choice(child="An", choice="went_back", alert_id=first)
        key = "chat.example/dm/9"
        store.append_turn(key, ChatTurn("stranger_k", "go to the hotel alone", "incoming", T0 + 100))
        store.append_turn(key, ChatTurn("an_2013", "why?", "outgoing", T0 + 110))
        store.add(
            Alert(
                child="An",
                device="ip:1",
                category="scam",
                kind="online_kidnapping",
                severity="high",
                probability=0.95,
                snippet="go to the hotel alone",
                conversation_key=key,
                app="Messenger",
                url="https://chat.example/dm/9",
                created_at=T0 + 111,
            )
        )
        store.add(
            Alert(
                child=UNASSIGNED_CHILD, device="ip:2", category="help", severity="high", probability=1.0,
                source="child", snippet="", child_note="a man keeps asking for my photo", created_at=T0 + 200,
            )
        )  # fmt: skip


def run(root: DataDir, *args: str) -> str:
    result = CliRunner().invoke(main, ["alerts", "--data-dir", str(root.root), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_prints_incidents_newest_first_in_the_agreed_shape(tmp_path) -> None:
    root = DataDir(tmp_path / "data").ensure()
    seed(root)
    help_, chat, page = json.loads(run(root, "--json"))
    assert set(page) == KEYS and set(help_) == KEYS
    assert set(chat) == KEYS | {"transcript"}
    assert (page["kind"], page["severity"], page["detections"]) == ("free_currency", "high", 2)
    assert page["url"] == "https://r.example/c" and page["first_seen"] == "2027-01-15T08:00:00+00:00"
    assert [c["choice"] for c in page["choices"]] == ["went_back"] and page["choices"][0]["time"]
    assert (chat["kind"], chat["counterpart"], chat["app"]) == (
        "online_kidnapping",
        "stranger_k",
        "Messenger",
    )
    first, second = chat["transcript"]
    assert first == {
        "from": "stranger_k",
        "direction": "in",
        "time": "2027-01-15T08:01:40+00:00",
        "text": "go to the hotel alone",
    }
    assert second == {
        "from": "an_2013",
        "direction": "out",
        "time": "2027-01-15T08:01:50+00:00",
        "text": "why?",
    }
    assert (help_["category"], help_["kind"], help_["child"], help_["device"]) == ("help", "help", "", "ip:2")


def test_text_form_shows_id_state_and_the_childs_words(tmp_path) -> None:
    root = DataDir(tmp_path / "data").ensure()
    seed(root)
    out = run(root)
    lines = out.splitlines()
    assert (
        lines[0].startswith("#3 ") and "a device not yet assigned: ip:2" in lines[0] and "[new]" in lines[0]
    )
    assert "in the child's words: a man keeps asking for my photo" in out
    assert "unassigned" not in out.replace("not yet assigned", "")
    assert "with stranger_k" in out and "2 detections" in out
    assert run(root, "--kind", "free_currency").count("#") == 1


def test_an_unknown_child_is_named_with_the_children_there_are(tmp_path) -> None:
    root = DataDir(tmp_path / "data").ensure()
    seed(root)
    with AlertStore(root.database) as store:
        store.add_child("An")
        store.add_child("Minh")
    result = CliRunner().invoke(main, ["alerts", "--data-dir", str(root.root), "--child", "minh"])
    assert result.exit_code == 1
    assert "no child named 'minh'; the children are: An, Minh" in result.output
    assert run(root, "--child", "Minh") == "No incidents for Minh.\n"
    assert run(root, "--child", "An").count("#") == 2
