"""Incidents in the dashboard: one line per incident, the conversation as it happened, what the child did,
devices not yet assigned, bulk review, the evidence export, and every new string in Vietnamese."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import pytest
from dashboard_helpers import csrf_from, make_alert

from alert_store import UNASSIGNED_CHILD, ChatTurn, IncidentFilter
from parent_ui import guidance
from parent_ui.translations_vi import VI

CHAT = "chat.example/conversations/7"


@pytest.fixture
def logged_in(client, auth):
    auth.login()
    return client


def grooming_chat(store, *, child="Binh", device="ip:192.168.1.21", t0=None, hostile=""):
    """A conversation kept in the store and the alerts the proxy wrote as it escalated."""
    t0 = t0 or time.time() - 600
    turns = [
        ("coach_mike", "incoming", "hey, you play really well for your age"),
        ("binh_2014", "outgoing", "thanks! im 12"),
        ("coach_mike", "incoming", "you seem so mature. lets keep this our secret, ok?" + hostile),
        ("binh_2014", "outgoing", "ok"),
        ("coach_mike", "incoming", "send me a pic of you, just you in your room"),
    ]
    ids = []
    for i, (sender, direction, text) in enumerate(turns):
        at = t0 + i * 10
        store.append_turn(CHAT, ChatTurn(sender, text, direction, at))
        if i == 2:
            ids.append(
                store.add(
                    make_alert(
                        child=child,
                        device=device,
                        category="grooming",
                        kind="grooming",
                        severity="medium",
                        snippet=text,
                        terms=("our secret",),
                        stages=("flattery", "secrecy"),
                        app="Roblox",
                        url="https://chat.example/api/conversations/7/messages",
                        conversation_key=CHAT,
                        created_at=at + 1,
                    )
                )
            )
        if i == 4:
            ids.append(
                store.add(
                    make_alert(
                        child=child,
                        device=device,
                        category="grooming",
                        kind="grooming",
                        severity="high",
                        snippet=text,
                        terms=("send me a pic of you",),
                        stages=("flattery", "secrecy", "photo_request"),
                        app="Roblox",
                        url="https://chat.example/api/conversations/7/messages",
                        conversation_key=CHAT,
                        created_at=at + 1,
                    )
                )
            )
    return ids


def test_many_detections_show_as_one_line_per_incident(logged_in, store):
    now = time.time() - 3000
    for i in range(4):  # one scam page seen four times
        store.add(make_alert(kind="free_currency", title="Free Robux", created_at=now + i))
    for i in range(8):  # a grooming chat detected eight times
        store.add(
            make_alert(
                category="grooming", kind="grooming", conversation_key=CHAT, url="", created_at=now + 10 + i
            )
        )
    page = logged_in.get("/alerts/").get_data(as_text=True)
    assert ">2 incidents<" in page
    assert page.count('class="alert-row incident-row') == 2
    assert "8 detections" in page and "4 detections" in page
    assert re.search(r'class="badge"[^>]*>2<', page)


def test_the_conversation_as_it_happened(logged_in, store):
    ids = grooming_chat(store, hostile="<img src=x onerror=alert(1)>")
    page = logged_in.get(f"/alerts/{ids[0]}").get_data(as_text=True)
    other = logged_in.get(f"/alerts/{ids[1]}").get_data(as_text=True)
    assert page[page.index("<article") :] == other[other.index("<article") :]  # one incident, one page
    transcript = page[page.index('class="transcript"') :]
    order = ["play really well", "im 12", "our secret", ">ok<", "send me a pic"]
    positions = [transcript.index(t) for t in order]
    assert positions == sorted(positions)
    assert transcript.count('class="turn from-child') == 2 and "Your child" in transcript
    assert "coach_mike" in page and "Roblox" in page  # the other person and the app
    assert "<mark>send me a pic of you</mark>" in transcript and "<mark>our secret</mark>" in transcript
    assert transcript.count("turn from-other risky") == 2
    assert "Asking for photos" in transcript  # the stage named on the turn that showed it
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "severity rose from Medium to High" in page
    assert "In your child" not in page


def test_what_the_child_did_shows_with_times(logged_in, store):
    alert_id = store.add(make_alert(kind="free_currency"))
    store.record_choice(child="An", choice="continued", alert_id=alert_id, url="https://scam.example/claim")
    store.record_choice(child="An", choice="told_parent", alert_id=alert_id)
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    section = page[page.index("What your child did") :]
    assert "Continued anyway past the warning page" in section
    assert "Pressed &#34;Tell my parent&#34;" in section or 'Pressed "Tell my parent"' in section
    assert section.count("<time datetime=") >= 2


def test_a_device_not_yet_assigned_is_named_and_can_be_assigned(logged_in, store):
    store.touch_device("ip:192.168.1.50")
    store.assign_device("ip:192.168.1.50", None, label="Kitchen tablet")
    alert_id = store.add(make_alert(child=UNASSIGNED_CHILD, device="ip:192.168.1.50"))
    listing = logged_in.get("/alerts/").get_data(as_text=True)
    assert "a device not yet assigned: Kitchen tablet" in listing
    assert "Devices not yet assigned" in listing  # the child filter offers them
    assert ">1 incident<" in logged_in.get("/alerts/?child=-").get_data(as_text=True)
    page = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Assign this device" in page
    for text in (listing, page):
        assert "unassigned" not in text.lower()
    logged_in.post("/language", data={"csrf_token": csrf_from(page), "lang": "vi"})
    vi = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "một thiết bị chưa gán cho con nào: Kitchen tablet" in vi and "unassigned" not in vi.lower()
    logged_in.post(f"/alerts/{alert_id}/assign", data={"csrf_token": csrf_from(vi), "child": "An"})
    assert store.incident(store.incident_of(alert_id)).child == "An"
    after = logged_in.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Gán thiết bị này" not in after and "An" in after
    assert ">1 sự việc<" in logged_in.get("/alerts/?child=An").get_data(as_text=True)


def test_assigning_on_the_children_page_applies_to_earlier_incidents(logged_in, store):
    store.touch_device("ip:192.168.1.60")
    store.add(make_alert(child=UNASSIGNED_CHILD, device="ip:192.168.1.60"))
    token = csrf_from(logged_in.get("/children/").get_data(as_text=True))
    logged_in.post(
        "/children/devices/assign", data={"csrf_token": token, "device": "ip:192.168.1.60", "child": "Binh"}
    )
    assert [i.child for i in store.incidents()] == ["Binh"]


def test_bulk_mark_reviewed(logged_in, store):
    ids = [store.incident_of(store.add(make_alert(url=f"https://x.example/{i}"))) for i in range(3)]
    page = logged_in.get("/alerts/").get_data(as_text=True)
    assert page.count('name="incident"') == 3
    response = logged_in.post(
        "/alerts/reviewed",
        data={"csrf_token": csrf_from(page), "incident": [str(ids[0]), str(ids[2])], "next": "/alerts/?x=1"},
    )
    assert response.headers["Location"] == "/alerts/?x=1"
    assert store.count_incidents(IncidentFilter(reviewed=True)) == 2
    assert not store.incident(ids[1]).reviewed
    evil = logged_in.post(
        "/alerts/reviewed", data={"csrf_token": csrf_from(page), "incident": "1", "next": "//evil.example/"}
    )
    assert evil.headers["Location"] == "/alerts/"


def test_export_printable_page_and_file_with_checksum(logged_in, store):
    ids = grooming_chat(store)
    store.record_choice(child="Binh", choice="told_parent", alert_id=ids[1])
    page = logged_in.get(f"/alerts/{ids[1]}/export").get_data(as_text=True)
    response = logged_in.get(f"/alerts/{ids[1]}/evidence.json")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    checksum = hashlib.sha256(body).hexdigest()
    assert response.headers["X-Checksum-SHA256"] == checksum
    assert f'id="checksum">{checksum}<' in page
    for text in ("coach_mike", "send me a pic of you", "https://chat.example/api/conversations/7/messages"):
        assert text in page
    record = json.loads(body)
    assert [t["direction"] for t in record["transcript"]] == ["in", "out", "in", "out", "in"]
    assert record["transcript"][4]["text"] == "send me a pic of you, just you in your room"
    assert [c["choice"] for c in record["choices"]] == ["told_parent"]
    assert record["counterpart"] == "coach_mike" and record["detections"] == 2
    assert len(record["detections_detail"]) == 2 and record["detections_detail"][1]["severity"] == "high"
    assert "?" not in json.dumps(record["url"])
    assert logged_in.get(f"/alerts/{ids[1]}/evidence.json").get_data() == body  # the same file each time


def test_the_incident_address_by_its_own_id(logged_in, store):
    ids = grooming_chat(store)
    incident_id = store.incident_of(ids[0])
    response = logged_in.get(f"/alerts/incidents/{incident_id}")
    assert response.headers["Location"] == f"/alerts/{ids[1]}"
    assert logged_in.get("/alerts/incidents/999").status_code == 404


def test_every_new_string_has_a_vietnamese_text():
    root = Path(__file__).resolve().parents[2] / "parent_ui"
    strings: set[str] = set()
    sources = [*(root / "templates" / "alerts").glob("*.html"), root / "templates" / "overview.html"]
    sources += [root / "alerts.py", root / "overview.py"]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        strings.update(re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', text))
        strings.update(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", text))
    for table in (guidance.KIND_NAMES, guidance.KIND_WHY, guidance.CHOICE_NAMES):
        strings.update(table.values())
    for lines in (*guidance.KIND_ADVICE.values(), *guidance.HELP_TOPIC_STEPS.values()):
        strings.update(lines)
    strings.update(guidance.EMERGENCY_STEPS)
    assert sorted(s for s in strings if s not in VI) == []


def test_overview_counts_incidents_and_names_devices_not_yet_assigned(logged_in, store):
    now = time.time() - 600
    for i in range(5):  # one page seen five times: one incident
        store.add(make_alert(child="An", created_at=now + i))
    store.add(make_alert(child=UNASSIGNED_CHILD, device="ip:192.168.1.77", created_at=now))
    page = logged_in.get("/overview/").get_data(as_text=True)
    chart = page[page.index('id="chart7"') : page.index("</figure>")]
    assert re.search(
        r"<bdi>An</bdi></span>\s*<svg[^>]*>.*?</svg>\s*<span class=\"bar-total\">1<", chart, re.S
    )
    assert "Devices not yet assigned" in chart and "unassigned" not in page.lower().replace(
        "not yet assigned", ""
    )
    store.touch_device("ip:192.168.1.77")
    store.assign_device("ip:192.168.1.77", "Binh")
    chart = logged_in.get("/overview/").get_data(as_text=True)
    assert "Devices not yet assigned" not in chart
