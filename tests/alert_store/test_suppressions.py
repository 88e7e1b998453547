"""A parent's "False alarm" becomes a suppression: the same site for a page, the same conversation for a chat,
for that child only; a child's own help request is never silenced."""

from __future__ import annotations

from pathlib import Path

from alert_store import Alert, AlertStore, Suppression


def alert(**fields: object) -> Alert:
    base = {
        "child": "Mai",
        "category": "scam",
        "severity": "high",
        "probability": 0.9,
        "snippet": "gift card",
    }
    return Alert(**(base | fields))  # type: ignore[arg-type]


def test_false_alarms_become_suppressions(tmp_path: Path) -> None:
    with AlertStore(tmp_path / "a.db") as store:
        page = store.add(alert(url="https://www.Recipes.example:8443/cake?x=1"))
        chat = store.add(
            alert(category="grooming", conversation_key="chat.example/dm/u-77", url="https://c/")
        )
        help_id = store.add(alert(category="help", source="child", child_note="help"))
        assert store.mark_false_positive(page)
        assert store.mark_false_positive(chat)
        assert store.mark_false_positive(page)  # twice: one suppression
        assert store.suppress_like(help_id) is None
        assert store.suppress_like(99_999) is None
        assert store.suppressions() == [
            Suppression("Mai", "site", "recipes.example"),
            Suppression("Mai", "conversation", "chat.example/dm/u-77"),
        ]
        assert store.get(page).false_positive
