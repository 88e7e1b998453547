"""Deleted and purged text leaves the disk: the database, its write-ahead log and every other file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dashboard_helpers import csrf_from, make_alert

from alert_store import ChatTurn

MARKER = "zebra-marker-7Q4"


@pytest.fixture
def logged_in(client, auth):
    auth.login()
    return client


def _files_holding(root: Path, needle: str) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle`` (UTF-8 or UTF-16, as SQLite may store)."""
    patterns = (needle.encode(), needle.encode("utf-16-le"), needle.encode("utf-16-be"))
    return [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.is_file() and any(p in path.read_bytes() for p in patterns)
    ]


def _chat_alert(store, created_at: float | None = None) -> int:
    key = "chat.example|/dm|stranger"
    for text in (f"hi {MARKER} how old are you", f"keep it secret {MARKER}", "ok"):
        store.append_turn(key, ChatTurn("stranger", text, "incoming", created_at or 0.0))
    return store.add(
        make_alert(
            category="grooming",
            snippet=f"keep it secret {MARKER}",
            conversation_key=key,
            created_at=created_at or 0.0,
        )
    )


def test_a_deleted_alert_leaves_no_trace_in_any_file(logged_in, store, data_dir):
    alert_id = _chat_alert(store)
    token = csrf_from(logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True))
    logged_in.post(f"/alerts/{alert_id}/false-positive", data={"csrf_token": token})
    assert store.feedback() and MARKER in logged_in.get("/alerts/feedback.jsonl").get_data(as_text=True)
    assert _files_holding(data_dir, MARKER)  # the search finds the text while it is stored

    response = logged_in.post(f"/alerts/{alert_id}/delete", data={"csrf_token": token, "confirm": "yes"})

    assert response.status_code == 302
    assert store.get(alert_id) is None and store.feedback() == []
    assert MARKER not in logged_in.get("/alerts/feedback.jsonl").get_data(as_text=True)
    assert _files_holding(data_dir, MARKER) == []


def test_purged_alerts_and_conversations_leave_no_trace_in_any_file(logged_in, store, data_dir):
    long_ago = time.time() - 400 * 86400
    _chat_alert(store, created_at=long_ago)
    assert _files_holding(data_dir, MARKER)
    token = csrf_from(logged_in.get("/settings/").get_data(as_text=True))

    logged_in.post("/settings/purge", data={"csrf_token": token})

    assert store.count() == 0
    assert _files_holding(data_dir, MARKER) == []
