"""Incidents on a real SQLite file: folding, escalation, retroactive assignment, review, delete, migration."""

from __future__ import annotations

import sqlite3

import pytest

from alert_store import UNASSIGNED_CHILD, Alert, AlertStore, ChatTurn, IncidentFilter
from alert_store.kinds import danger_now, fallback_kind
from alert_store.migrations import INCIDENTS_SCHEMA, MIGRATIONS, SCHEMA_VERSION

T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path):
    with AlertStore(tmp_path / "notalone.db") as s:
        yield s


def page_alert(**overrides) -> Alert:
    values = dict(
        child="An",
        device="ip:192.168.1.20",
        category="scam",
        kind="free_currency",
        severity="medium",
        probability=0.8,
        snippet="Claim your free Robux now",
        terms=("free robux",),
        url="https://robux.example/claim?t=1",
        created_at=T0,
    )
    values.update(overrides)
    return Alert(**values)


def chat_alert(**overrides) -> Alert:
    values = dict(
        child="Binh",
        device="ip:192.168.1.21",
        category="grooming",
        kind="grooming",
        severity="medium",
        probability=0.7,
        snippet="lets keep this our secret",
        terms=("our secret",),
        stages=("secrecy",),
        app="Roblox",
        url="https://chat.example/api/conversations/7/messages",
        conversation_key="chat.example/conversations/7",
        created_at=T0,
    )
    values.update(overrides)
    return Alert(**values)


def test_a_page_visit_is_one_incident_whatever_its_query(store):
    first = store.add(page_alert())
    second = store.add(page_alert(url="https://robux.example/claim?t=2", created_at=T0 + 30))
    assert store.incident_of(first) == store.incident_of(second)
    (incident,) = store.incidents()
    assert incident.detections == 2
    assert (incident.first_seen, incident.last_seen) == (T0, T0 + 30)
    assert incident.url == "https://robux.example/claim" and incident.kind == "free_currency"


def test_another_page_another_device_or_a_later_visit_opens_a_new_incident(store):
    store.add(page_alert())
    store.add(page_alert(url="https://robux.example/other"))
    store.add(page_alert(device="ip:192.168.1.99"))
    store.add(page_alert(created_at=T0 + 2 * 3600))
    assert store.count_incidents() == 4


def test_a_conversation_folds_and_escalates_recording_when_and_why(store):
    ids = [
        store.add(chat_alert(created_at=T0)),
        store.add(chat_alert(created_at=T0 + 60, severity="high", stages=("secrecy", "photo_request"))),
        store.add(chat_alert(created_at=T0 + 120, severity="low")),
    ]
    incident_id = store.incident_of(ids[0])
    assert {store.incident_of(i) for i in ids} == {incident_id}
    incident = store.incident(incident_id)
    assert incident.severity == "high"  # never falls back
    assert incident.detections == 3
    detections = store.incident_alerts(incident_id)
    assert [a.severity for a in detections] == ["medium", "high", "low"]
    assert detections[1].created_at == T0 + 60 and "photo_request" in detections[1].stages


def test_an_escalation_reopens_a_reviewed_incident(store):
    incident_id = store.incident_of(store.add(chat_alert()))
    store.mark_incident_reviewed(incident_id)
    store.add(chat_alert(created_at=T0 + 60))
    assert store.incident(incident_id).reviewed  # same severity: nothing new for the parent
    store.add(chat_alert(created_at=T0 + 120, severity="high"))
    assert not store.incident(incident_id).reviewed


def test_the_most_serious_kind_names_the_incident(store):
    first = store.add(chat_alert(category="grooming", kind="grooming"))
    store.add(
        chat_alert(
            category="scam", kind="online_kidnapping", severity="high", terms=("hotel",), created_at=T0 + 5
        )
    )
    store.add(chat_alert(category="scam", kind="free_currency", created_at=T0 + 9))
    incident = store.incident(store.incident_of(first))
    assert (incident.category, incident.kind, incident.severity) == ("scam", "online_kidnapping", "high")
    assert store.count_incidents() == 1


def test_counterpart_comes_from_the_proxy_or_the_latest_incoming_turn(store):
    key = "chat.example/conversations/7"
    store.append_turn(key, ChatTurn("coach_mike", "hi there", "incoming", T0 - 10))
    store.append_turn(key, ChatTurn("child", "hello", "outgoing", T0 - 5))
    named = store.incident(store.incident_of(store.add(chat_alert())))
    assert named.counterpart == "coach_mike"
    other = store.incident(
        store.incident_of(store.add(chat_alert(counterpart="stranger99", created_at=T0 + 1)))
    )
    assert other.counterpart == "stranger99" and other.id != named.id  # another counterpart, another incident
    assert [t.sender for t in store.incident_transcript(named.id)] == ["coach_mike", "child"]


def test_a_false_alarm_is_not_folded_into(store):
    incident_id = store.incident_of(store.add(page_alert()))
    assert store.mark_incident_false_positive(incident_id)
    later = store.incident_of(store.add(page_alert(created_at=T0 + 60)))
    assert later != incident_id
    assert store.incident(incident_id).false_positive and store.incident(incident_id).reviewed
    assert len(store.feedback()) == 1


def test_help_requests_never_fold(store):
    help_alert = dict(category="help", kind="", severity="high", probability=1.0, source="child", snippet="")
    a = store.add(page_alert(**help_alert, child_note="help"))
    b = store.add(page_alert(**help_alert, child_note="again", created_at=T0 + 1))
    assert store.incident_of(a) != store.incident_of(b)
    assert store.incident(store.incident_of(a)).kind == "help"
    assert store.count_incidents(IncidentFilter(pinned=True)) == 2


def test_assigning_a_device_applies_to_its_earlier_incidents(store):
    store.add_child("An")
    first = store.add(page_alert(child=UNASSIGNED_CHILD))
    assert store.incident(store.incident_of(first)).child == ""
    assert store.count_incidents(IncidentFilter(child="")) == 1
    store.touch_device("ip:192.168.1.20")
    store.assign_device("ip:192.168.1.20", "An")
    assert store.incident(store.incident_of(first)).child == "An"
    assert store.get(first).child == "An"
    assert store.count_incidents(IncidentFilter(child="An")) == 1
    # later alerts from the device, written before the proxy refreshed its map, are the child's at once
    later = store.add(page_alert(child=UNASSIGNED_CHILD, url="https://x.example/", created_at=T0 + 5))
    assert store.incident(store.incident_of(later)).child == "An"


def test_another_childs_incidents_stay_theirs_when_a_device_is_reassigned(store):
    store.add(page_alert(child="Binh"))
    store.assign_device("ip:192.168.1.20", "An")
    (incident,) = store.incidents()
    assert incident.child == "Binh"


def test_review_in_bulk_and_filters(store):
    a = store.incident_of(store.add(page_alert()))
    b = store.incident_of(store.add(chat_alert()))
    assert store.count_incidents(IncidentFilter(reviewed=False)) == 2
    assert store.mark_incidents_reviewed([a, b, a]) == 2
    assert store.count_incidents(IncidentFilter(reviewed=True)) == 2
    assert all(alert.reviewed for alert in store.incident_alerts(a))
    assert [i.id for i in store.incidents(IncidentFilter(kind="grooming"))] == [b]
    assert store.mark_incidents_reviewed([999]) == 0


def test_the_childs_choices_show_on_the_incident(store):
    first = store.add(page_alert())
    second = store.add(page_alert(created_at=T0 + 10))
    store.record_choice(child="An", choice="went_back", alert_id=first, device="ip:192.168.1.20")
    store.record_choice(child="An", choice="told_parent", alert_id=second, device="ip:192.168.1.20")
    choices = store.incident_choices(store.incident_of(first))
    assert [c.choice for c in choices] == ["went_back", "told_parent"]
    assert all(c.created_at > 0 for c in choices)


def test_deleting_an_incident_deletes_everything_it_holds(store):
    key = "chat.example/conversations/7"
    store.append_turn(key, ChatTurn("coach_mike", "send me a pic", "incoming", T0 - 1))
    ids = [store.add(chat_alert()), store.add(chat_alert(created_at=T0 + 5))]
    store.record_choice(child="Binh", choice="continued", alert_id=ids[0])
    incident_id = store.incident_of(ids[0])
    assert store.delete_incident(incident_id)
    assert store.incident(incident_id) is None
    assert all(store.get(i) is None for i in ids)
    assert store.conversation(key) == []
    assert store.incident_choices(incident_id) == []
    assert not store.delete_incident(incident_id)


def test_purge_removes_incidents_left_empty(store):
    store.add(page_alert(created_at=T0))
    result = store.purge_older_than(1, now=T0 + 5 * 86400)
    assert result.alerts == 1 and store.count_incidents() == 0


def test_an_unknown_kind_is_refused(store):
    with pytest.raises(ValueError, match="'ransom'"):
        store.add(page_alert(kind="ransom"))


@pytest.mark.parametrize(
    "category, terms, kind",
    [
        ("scam", ("free robux",), "free_currency"),
        ("scam", ("nhận kim cương",), "free_currency"),
        ("scam", ("mật khẩu",), "phishing"),
        ("scam", ("go to the hotel alone",), "online_kidnapping"),
        ("scam", ("việc nhẹ lương cao",), "job_crypto"),
        ("scam", ("hello",), "other_scam"),
        ("grooming", ("our secret",), "grooming"),
    ],
)
def test_alerts_without_a_kind_get_one_from_category_and_terms(store, category, terms, kind):
    assert fallback_kind(category, terms) == kind
    alert_id = store.add(page_alert(category=category, kind="", terms=terms, snippet=""))
    assert store.get(alert_id).kind == kind


def test_danger_now_only_where_a_child_may_be_in_danger():
    assert danger_now("online_kidnapping") and danger_now("help")
    assert danger_now("grooming", ("secrecy", "meeting"))
    assert not danger_now("grooming", ("flattery",))
    assert not danger_now("free_currency") and not danger_now("phishing")


def test_migration_folds_existing_alerts_into_incidents(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in "".join(MIGRATIONS[: INCIDENTS_SCHEMA - 1]).split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {INCIDENTS_SCHEMA - 1}")
    conn.execute("INSERT INTO devices (device, child, first_seen, last_seen) VALUES ('ip:3', 'An', 0, 0)")
    rows = [
        (T0, UNASSIGNED_CHILD, "ip:1", "https://robux.example/claim", "scam", "medium", '["free robux"]', ""),
        (
            T0 + 5,
            UNASSIGNED_CHILD,
            "ip:1",
            "https://robux.example/claim",
            "scam",
            "high",
            '["free robux"]',
            "",
        ),
        (T0, "Binh", "ip:2", "", "grooming", "medium", '["our secret"]', "chat/7"),
        (T0, UNASSIGNED_CHILD, "ip:3", "https://x.example/", "scam", "low", '["password"]', ""),
        (T0 + 9, "Binh", "ip:2", "", "grooming", "medium", '["our secret"]', "chat/7"),
    ]
    for created, child, device, url, category, severity, terms, key in rows:
        conn.execute(
            """INSERT INTO alerts (created_at, child, device, direction, url, category, probability, severity,
                   snippet, terms, conversation_key) VALUES (?, ?, ?, 'incoming', ?, ?, 0.9, ?, '', ?, ?)""",
            (created, child, device, url, category, severity, terms, key),
        )
    conn.close()
    with AlertStore(path) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        incidents = {i.device: i for i in store.incidents()}
        assert len(incidents) == 3
        # a device assigned before the upgrade: its old "unassigned" alerts are the child's now
        assert (incidents["ip:3"].child, incidents["ip:3"].kind) == ("An", "phishing")
        page = incidents["ip:1"]
        assert (page.child, page.kind, page.severity, page.detections) == ("", "free_currency", "high", 2)
        chat = incidents["ip:2"]
        assert (chat.child, chat.kind, chat.detections) == ("Binh", "grooming", 2)
        # new detections keep folding into the migrated incident
        new = store.add(
            page_alert(
                child=UNASSIGNED_CHILD, device="ip:1", url="https://robux.example/claim", created_at=T0 + 60
            )
        )
        assert store.incident_of(new) == page.id


def test_the_stores_kinds_are_the_classifiers():
    from alert_store.kinds import KINDS
    from alert_store.kinds import SCAM_KINDS as STORED
    from classifier.records import GROOMING_KIND, SCAM_KINDS

    assert STORED == SCAM_KINDS and GROOMING_KIND in KINDS  # a new kind must be added to both
