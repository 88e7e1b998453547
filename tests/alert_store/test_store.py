"""The alert store on a real SQLite file: validation, filters, paging, feedback, windows, retention."""

from __future__ import annotations

import sqlite3
import time

import pytest

from alert_store import Alert, AlertFilter, AlertStore, ChatTurn, StoreError
from alert_store.migrations import SCHEMA_VERSION, SchemaTooNewError


@pytest.fixture
def store(tmp_path):
    with AlertStore(tmp_path / "notalone.db") as s:
        yield s


def make_alert(**overrides) -> Alert:
    values = dict(child="An", category="scam", severity="high", probability=0.93, snippet="free robux here")
    values.update(overrides)
    return Alert(**values)


def test_add_and_get_round_trips_and_strips_query(store):
    alert_id = store.add(
        make_alert(
            url="https://user:pw@robux.example:8443/claim?token=secret#x",
            terms=("free robux",),
            stages=("gifts",),
        )
    )
    alert = store.get(alert_id)
    assert alert.url == "https://robux.example:8443/claim"
    assert alert.terms == ("free robux",)
    assert alert.stages == ("gifts",)
    assert alert.created_at > 0 and not alert.reviewed


def test_snippet_is_capped_at_500_characters(store):
    alert = store.get(store.add(make_alert(snippet="x" * 5000)))
    assert len(alert.snippet) == 500


@pytest.mark.parametrize(
    "field, value",
    [
        ("category", "spam"),
        ("severity", "urgent"),
        ("direction", "sideways"),
        ("probability", 1.5),
        ("child", ""),
    ],
)
def test_bad_values_are_refused_with_the_value_named(store, field, value):
    with pytest.raises(StoreError, match=repr(value) if value else "child"):
        store.add(make_alert(**{field: value}))


def test_filters_paging_and_unread_count(store):
    now = time.time()
    for i in range(30):
        store.add(
            make_alert(
                child="An" if i % 2 else "Binh",
                category="scam" if i % 3 else "grooming",
                created_at=now - i * 60,
                url=f"https://example.com/{i}",  # thirty pages: thirty incidents
            )
        )
    newest = store.list(limit=5)
    assert [a.created_at for a in newest] == sorted((a.created_at for a in newest), reverse=True)
    assert store.count(AlertFilter(child="An")) == 15
    page1 = store.list(AlertFilter(child="An"), limit=10)
    page2 = store.list(AlertFilter(child="An"), limit=10, offset=10)
    assert len(page1) == 10 and len(page2) == 5
    assert not {a.id for a in page1} & {a.id for a in page2}
    assert store.count(AlertFilter(category="grooming")) == 10
    assert store.count(AlertFilter(since=now - 5 * 60 + 1)) == 5
    store.mark_incident_reviewed(store.incident_of(page1[0].id))
    assert store.unread_count() == 29  # incidents, which the dashboard's badge counts
    assert store.unread_count(child="An") == 14


def test_filter_values_are_parameters_not_sql(store):
    store.add(make_alert())
    assert store.count(AlertFilter(child="An' OR '1'='1")) == 0
    assert store.count() == 1


def test_false_positive_becomes_benign_feedback(store):
    alert_id = store.add(make_alert(snippet="Join our Roblox group giveaway, rules inside"))
    assert store.mark_false_positive(alert_id, lang="en")
    assert store.get(alert_id).false_positive
    (record,) = store.iter_feedback_jsonl()
    assert record["label"] == "benign"
    assert record["text"] == "Join our Roblox group giveaway, rules inside"
    assert record["kind"] == "message" and record["lang"] == "en"


def test_conversation_window_keeps_the_last_n(store):
    for i in range(12):
        store.append_turn("discord.com/channels/1", ChatTurn("stranger", f"message {i}"), keep_last=5)
    window = store.conversation("discord.com/channels/1")
    assert [t.text for t in window] == [f"message {i}" for i in range(7, 12)]


def test_purge_removes_old_alerts_conversations_feedback_choices_and_blind_spots(store):
    old = time.time() - 40 * 86400
    old_id = store.add(make_alert(created_at=old))
    store.mark_false_positive(old_id)
    new_id = store.add(make_alert())
    store.append_turn("k", ChatTurn("x", "old", created_at=old))
    store.append_turn("k", ChatTurn("x", "new"))
    store.record_blind_spot("tls_failed", "bank.example", "dev", now=old)
    store._conn.execute("UPDATE feedback SET created_at = ?", (old,))
    old_choice = store.record_choice(child="An", choice="continued", alert_id=old_id)
    store.record_choice(child="An", choice="went_back", alert_id=new_id)
    store._conn.execute("UPDATE choices SET created_at = ? WHERE id = ?", (old, old_choice))
    result = store.purge_older_than(30)
    assert (result.alerts, result.conversation_messages, result.feedback, result.blind_spots) == (1, 1, 1, 1)
    assert result.extra["choices"] == 1
    assert store.count() == 1
    assert [t.text for t in store.conversation("k")] == ["new"]
    # The old choice went with its age, not only its link (ON DELETE SET NULL would have kept it unlinked).
    assert [r["choice"] for r in store._conn.execute("SELECT choice FROM choices")] == ["went_back"]
    assert store.choices_for(new_id) == ["went_back"]


def test_counts_by_day_groups_child_and_category(store):
    store.add(make_alert())
    store.add(make_alert())
    store.add(make_alert(category="grooming"))
    counts = {(c.child, c.category): c.count for c in store.counts_by_day(time.time() - 86400)}
    assert counts == {("An", "scam"): 2, ("An", "grooming"): 1}


def test_devices_children_settings_blind_spots_counters(store):
    store.add_child("An", {"sensitivity": {"scam": "high"}})
    store.touch_device("192.168.1.20", address="192.168.1.20")
    store.assign_device("192.168.1.20", "An", label="An's tablet")
    assert store.device("192.168.1.20").child == "An"
    assert store.children() == {"An": {"sensitivity": {"scam": "high"}}}
    store.set_setting("mode", "warn")
    assert store.settings() == {"mode": "warn"}
    store.record_blind_spot("doh", "dns.google", "192.168.1.20")
    store.record_blind_spot("doh", "dns.google", "192.168.1.20")
    assert store.blind_spots()[0].count == 2
    store.increment("errors.extract")
    store.increment("errors.extract", 2)
    assert store.counters() == {"errors.extract": 3}


def test_wal_mode_and_schema_version(store):
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.integrity_check() == "ok"


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError):
        AlertStore(path)


def test_an_added_alert_is_visible_to_another_connection_at_once(tmp_path):
    path = tmp_path / "notalone.db"
    with AlertStore(path) as writer, AlertStore(path) as reader:
        writer.add(make_alert())
        assert reader.count() == 1


def test_pinned_help_alerts_can_be_selected_or_left_out(store):
    store.add(make_alert())
    help_id = store.add(make_alert(category="help", source="child", child_note="someone asked for my photo"))
    store.add(make_alert(category="help", source="child", reviewed=True))
    assert [a.id for a in store.list(AlertFilter(pinned=True))] == [help_id]
    assert store.count(AlertFilter(pinned=False)) == 2
    store.mark_reviewed(help_id)
    assert store.count(AlertFilter(pinned=True)) == 0


def test_old_databases_are_migrated_in_place(tmp_path):
    from alert_store.migrations import MIGRATIONS

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO alerts (created_at, child, direction, category, probability, severity, snippet)"
        " VALUES (1, 'An', 'incoming', 'scam', 0.9, 'high', 'kept')"
    )
    conn.commit()
    conn.close()
    with AlertStore(path) as upgraded:
        assert upgraded._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert upgraded.list()[0].snippet == "kept"


def test_choices_on_warning_pages_are_kept_with_their_alert(store):
    alert_id = store.add(make_alert())
    store.record_choice(child="An", choice="went_back", alert_id=alert_id, url="https://x.example/a?t=1")
    store.record_choice(child="An", choice="told_parent", alert_id=alert_id)
    assert store.choices_for(alert_id) == ["went_back", "told_parent"]
    with pytest.raises(StoreError, match="'jumped'"):
        store.record_choice(child="An", choice="jumped")
    orphan = store.record_choice(child="An", choice="continued", alert_id=999_999)
    assert orphan > 0


def _open_store(path: str) -> int:
    with AlertStore(path) as s:
        return s._conn.execute("PRAGMA user_version").fetchone()[0]


def test_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    path = str(tmp_path / "race.db")
    with ProcessPoolExecutor(max_workers=4) as pool:
        versions = list(pool.map(_open_store, [path] * 8))
    assert versions == [SCHEMA_VERSION] * 8


def test_alert_ids_are_never_reused(store):
    first = store.add(make_alert())
    newest = store.add(make_alert())
    store.delete(newest)
    assert store.add(make_alert()) > newest > first


def test_migrating_to_never_reused_ids_keeps_alerts_and_choices(tmp_path):
    from alert_store.migrations import MIGRATIONS

    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    for version, script in enumerate(MIGRATIONS[:3], 1):
        conn.executescript(script + f"; PRAGMA user_version = {version};")
    conn.execute(
        "INSERT INTO alerts (created_at, child, direction, category, probability, severity, snippet)"
        " VALUES (1, 'An', 'incoming', 'scam', 0.9, 'high', 'kept')"
    )
    conn.execute("INSERT INTO choices (created_at, alert_id, child, choice) VALUES (2, 1, 'An', 'went_back')")
    conn.commit()
    conn.close()
    with AlertStore(path) as upgraded:
        assert upgraded.list()[0].snippet == "kept"
        assert upgraded.choices_for(1) == ["went_back"]
        assert upgraded.integrity_check() == "ok"
        upgraded.delete(upgraded.add(make_alert()))
        assert upgraded.add(make_alert()) == 3
