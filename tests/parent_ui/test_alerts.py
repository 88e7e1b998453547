"""The alert list and page: escaping proxied text, filters, paging, help requests first, actions, export."""

from __future__ import annotations

import json
import re
import time

import pytest
from dashboard_helpers import csrf_from, make_alert

from alert_store import IncidentFilter


@pytest.fixture
def logged_in(client, auth):
    auth.login()
    return client


HOSTILE = [
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(document.cookie)",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_shown_escaped_everywhere(logged_in, store, payload):
    alert_id = store.add(
        make_alert(
            snippet=f"free robux {payload}",
            title=payload,
            app=payload[:100],
            url=f"https://x.example/{payload}",
            terms=("free robux", payload),
            device=payload,
        )
    )
    store.add(make_alert(category="help", source="child", severity="high", snippet="", child_note=payload))
    store.touch_device(payload)
    store.record_blind_spot("tls_failed", payload, payload)
    for path in ("/alerts/", f"/alerts/{alert_id}", "/overview/", "/children/"):
        page = logged_in.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page and "<svg onload" not in page, path
        assert 'href="javascript:' not in page
    detail = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert (
        "&lt;script&gt;" in detail
        or "&lt;img" in detail
        or "&#34;&gt;&lt;svg" in detail
        or "javascript:" in detail
    )


def test_terms_are_highlighted_in_the_escaped_snippet(logged_in, store):
    alert_id = store.add(make_alert(snippet="Nhận <b>Robux miễn phí</b> ngay", terms=("robux mien phi",)))
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "<mark>Robux miễn phí</mark>" in page
    assert "&lt;b&gt;" in page


def test_bidi_overrides_are_shown_not_obeyed(logged_in, store):
    alert_id = store.add(make_alert(snippet="open invoice\u202egpj.exe"))
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "\u202e" not in page and "[U+202E]" in page


def test_filters_and_paging(app, logged_in, store):
    now = time.time()
    for i in range(60):
        store.add(
            make_alert(
                child="An" if i % 2 else "Binh",
                category="scam" if i % 3 else "grooming",
                kind="phishing" if i % 3 else "grooming",
                severity=("low", "medium", "high")[i % 3],
                title=f"page number {i}",
                url=f"https://example.com/{i}",
                created_at=now - i * 3600,
                reviewed=i % 4 == 0,
            )
        )
    size = app.config["PAGE_SIZE"]
    first = logged_in.get("/alerts/").get_data(as_text=True)
    assert "page number 0<" in first and f"page number {size - 1}<" in first
    assert f"page number {size}<" not in first
    assert first.index("page number 0<") < first.index("page number 1<")  # newest first
    second = logged_in.get("/alerts/?page=2").get_data(as_text=True)
    assert f"page number {size}<" in second and "page number 0<" not in second

    filtered = logged_in.get("/alerts/?child=An&kind=phishing&severity=high&reviewed=no").get_data(
        as_text=True
    )
    expected = store.incidents(
        IncidentFilter(child="An", kind="phishing", severity="high", reviewed=False), limit=100
    )
    assert expected and f"{len(expected)} incidents" in filtered
    for incident in expected:
        assert f"{incident.title}<" in filtered
    assert "page number 2<" not in filtered  # Binh's

    today = time.strftime("%Y-%m-%d")
    by_date = logged_in.get(f"/alerts/?from={today}&to={today}").get_data(as_text=True)
    assert "page number 0<" in by_date


def test_bad_filter_values_are_ignored_with_a_message(logged_in, store):
    store.add(make_alert())
    response = logged_in.get("/alerts/?category=x'%20OR%201=1--&from=yesterday&page=-1&child=Robert');DROP")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "use a date like" in page and "Unknown page number" in page
    assert ">1 incident<" in page


def test_help_requests_come_first_with_their_own_look(logged_in, store):
    now = time.time()
    store.add(make_alert(title="a newer scam", created_at=now))
    help_id = store.add(
        make_alert(
            category="help",
            source="child",
            severity="high",
            snippet="",
            child_note="someone asks me to keep a secret",
            created_at=now - 7200,
        )
    )
    page = logged_in.get("/alerts/").get_data(as_text=True)
    assert page.index("keep a secret") < page.index("a newer scam")
    assert 'class="pinned"' in page and "help unread" in page
    assert page.count("keep a secret") == 1
    detail = logged_in.get(f"/alerts/{help_id}").get_data(as_text=True)
    assert "a newer scam" in detail  # context around the request
    assert "You did the right thing" in detail
    assert "If your child may be in danger now" in detail


def test_a_free_currency_scam_gets_its_own_advice_and_no_emergency_box(logged_in, store):
    alert_id = store.add(make_alert(kind="free_currency"))
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Free game currency scam" in page and "V-Bucks" in page
    assert "If your child may be in danger now" not in page and "Do not transfer money" not in page


def test_online_kidnapping_gets_urgent_advice_and_the_countrys_emergency_number(logged_in, store):
    store.set_setting("help.country", "GB")
    alert_id = store.add(
        make_alert(
            kind="online_kidnapping",
            severity="high",
            snippet="go to the hotel alone, turn off your location",
            terms=("hotel alone",),
            conversation_key="chat.example/dm/9",
            url="https://chat.example/dm/9",
        )
    )
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Online kidnapping" in page and "If your child may be in danger now" in page
    assert "call the police: 999" in page and "Childline" in page
    assert "Reach your child now" in page
    assert "113" not in page and "free game currency" not in page.lower()


@pytest.mark.parametrize(
    "kind, line",
    [
        ("phishing", "Change that password now"),
        ("sextortion", "Do not pay and do not send anything more"),
        ("grooming", "a friend who asks for secrets"),
    ],
)
def test_each_kind_gets_its_own_advice(logged_in, store, kind, line):
    category = "grooming" if kind == "grooming" else "scam"
    alert_id = store.add(make_alert(kind=kind, category=category))
    assert line in logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)


def test_grooming_stages_are_explained(logged_in, store):
    alert_id = store.add(make_alert(category="grooming", stages=("secrecy", "private_app")))
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Secrecy" in page and "Moving to a private app" in page


def test_actions_reviewed_false_positive_delete_with_confirmation(logged_in, store):
    alert_id = store.add(make_alert())
    assert re.search(r'class="badge"[^>]*>1<', logged_in.get("/alerts/").get_data(as_text=True))
    token = csrf_from(logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True))
    logged_in.post(f"/alerts/{alert_id}/reviewed", data={"csrf_token": token, "reviewed": "1"})
    assert store.get(alert_id).reviewed
    assert store.unread_count() == 0
    logged_in.post(f"/alerts/{alert_id}/false-positive", data={"csrf_token": token})
    assert store.get(alert_id).false_positive
    confirm = logged_in.get(f"/alerts/{alert_id}/delete").get_data(as_text=True)
    assert "Delete this incident?" in confirm and "deletes the evidence for good" in confirm
    logged_in.post(f"/alerts/{alert_id}/delete", data={"csrf_token": token})  # not confirmed
    assert store.get(alert_id) is not None
    logged_in.post(f"/alerts/{alert_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert store.get(alert_id) is None
    response = logged_in.post(f"/alerts/{alert_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 404


def test_feedback_export_round_trips_into_the_training_format(logged_in, store, runner, tmp_path):
    texts = ["Free Robux for everyone!", "Tải game miễn phí <script>"]
    ids = [store.add(make_alert(snippet=t)) for t in texts]
    token = csrf_from(logged_in.get(f"/alerts/{ids[0]}").get_data(as_text=True))
    for alert_id in ids:
        logged_in.post(f"/alerts/{alert_id}/false-positive", data={"csrf_token": token})

    response = logged_in.get("/alerts/feedback.jsonl")
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [r["text"] for r in records] == texts
    for r in records:
        assert r["kind"] == "message" and r["label"] == "benign" and r["id"]

    out = tmp_path / "feedback.jsonl"
    result = runner.invoke(args=["export-feedback", str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == records
