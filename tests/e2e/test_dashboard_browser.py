"""A parent in a real browser: first-run setup, login, then the demo's five risky incidents (two scam pages,
an online-kidnapping chat, two grooming chats) and a help request, on a desktop and a phone, in English and
Vietnamese: the conversation as it happened, advice that fits, a device not yet assigned, bulk review,
delete with confirmation, the evidence page, and an overview that fits 390 px. Screenshots go to
test-artifacts/dashboard/ for a human to look at."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy_harness import free_port, serving_dashboard

from alert_store import UNASSIGNED_CHILD, Alert, AlertStore, ChatTurn, DataDir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a calm family password"
PHONE = {"width": 390, "height": 844}
# How long a step may wait for the page on a busy shared machine (a wait, not a timed assertion).
TIMEOUT_MS = 30_000


def _chat(
    store: AlertStore, key: str, device: str, child: str, turns, detections, t0: float, **extra
) -> None:
    """Keep a conversation's turns and write its detections the way the proxy does, one after a turn."""
    for i, (sender, direction, text) in enumerate(turns):
        store.append_turn(key, ChatTurn(sender, text, direction, t0 + i * 20))
        for kind, category, severity, terms, stages in detections.get(i, ()):
            store.add(
                Alert(
                    child=child,
                    device=device,
                    category=category,
                    kind=kind,
                    severity=severity,
                    probability=0.9,
                    snippet=text,
                    terms=terms,
                    stages=stages,
                    conversation_key=key,
                    url=f"https://{key}",
                    created_at=t0 + i * 20 + 1,
                    **extra,
                )
            )


def seed(store: AlertStore) -> None:
    now = time.time() - 1800
    for i in range(4):  # the English scam page, re-scored four times
        store.add(
            Alert(
                child="An",
                device="ip:192.168.1.23",
                category="scam",
                kind="free_currency",
                severity="high" if i else "medium",
                probability=0.93,
                snippet="Claim 10,000 FREE Robux now! Enter your username and password "
                "<img src=x onerror=alert(1)> to verify.",
                terms=("free robux", "password"),
                title="FREE ROBUX GENERATOR",
                url=f"https://robux-free.example/claim?ref={i}",
                created_at=now + i,
            )
        )
    page_id = store.add(
        Alert(
            child=UNASSIGNED_CHILD,
            device="ip:192.168.1.40",
            category="scam",
            kind="free_currency",
            severity="medium",
            probability=0.8,
            snippet="Nhận kim cương Free Fire miễn phí, nhập mật khẩu để nhận quà",
            terms=("kim cương", "miễn phí"),
            title="Kim cương miễn phí",
            url="https://kimcuong-free.example/nhan",
            created_at=now + 60,
        )
    )
    store.record_choice(
        child=UNASSIGNED_CHILD, choice="went_back", alert_id=page_id, device="ip:192.168.1.40"
    )
    store.touch_device("ip:192.168.1.40", "192.168.1.40")
    store.assign_device("ip:192.168.1.40", None, label="Living-room tablet")
    _chat(
        store,
        "chat.example/dm/kidnap",
        "ip:192.168.1.23",
        "An",
        [
            (
                "Officer_Tran",
                "incoming",
                "This is the police. Your family is in trouble, do not tell your parents.",
            ),
            ("an_2012", "outgoing", "what happened??"),
            (
                "Officer_Tran",
                "incoming",
                "Go to the hotel alone, turn off your location and stay on video call.",
            ),
        ],
        {
            0: [("grooming", "grooming", "medium", ("do not tell your parents",), ("secrecy",))],
            2: [("online_kidnapping", "scam", "high", ("hotel alone", "turn off your location"), ())],
        },
        now + 120,
        app="Messenger",
    )
    for n, (key, child, name) in enumerate(
        (("game.example/dm/mike", "Binh", "coach_mike"), ("game.example/dm/lee", "An", "lee_gamer"))
    ):
        detections = {
            2: [("grooming", "grooming", "medium", ("mature for your age",), ("flattery",))],
            3: [("grooming", "grooming", "medium", ("our secret",), ("flattery", "secrecy"))],
            5: [
                (
                    "grooming",
                    "grooming",
                    "high",
                    ("send me a pic of you", "just you in your room"),
                    ("flattery", "secrecy", "photo_request"),
                )
            ],
        }
        _chat(
            store,
            key,
            f"ip:192.168.1.{30 + n}",
            child,
            [
                (name, "incoming", "hey, nice build! how old are you?"),
                ("kid", "outgoing", "12"),
                (name, "incoming", "you are so mature for your age"),
                (name, "incoming", "lets keep this our secret ok? your parents wouldnt get it"),
                ("kid", "outgoing", "ok"),
                (name, "incoming", "send me a pic of you, just you in your room"),
            ],
            detections,
            now + 300 + n * 400,
            app="Roblox",
        )
    store.add(
        Alert(
            child="An",
            device="ip:192.168.1.23",
            category="help",
            severity="high",
            probability=1.0,
            source="child",
            snippet="",
            child_note="someone says they will hurt mum if I don't send a code",
            created_at=now + 1500,
        )
    )
    store.record_blind_spot("tls_failed", "bank.example", "ip:192.168.1.23")


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    root = DataDir(tmp_path / "data").ensure()
    with AlertStore(root.database) as store:
        seed(store)
    with serving_dashboard(root.root, free_port()) as url:
        yield url


def fits(page) -> None:
    """No sideways scrolling: the page is no wider than the screen (measured once the page has loaded: a
    click that posts a form is still navigating when it returns)."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)")
def test_a_parent_walks_through_incidents_on_desktop_and_phone_in_english_and_vietnamese(
    dashboard_url: str,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TIMEOUT_MS)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
            page.set_default_timeout(TIMEOUT_MS)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            page.goto(dashboard_url + "/alerts/")
            assert page.url.endswith("/setup")
            page.screenshot(path=ARTIFACTS / "01-setup.png", full_page=True)
            page.get_by_label("Parent password").fill(PASSWORD)
            page.get_by_label("Password again").fill(PASSWORD)
            page.get_by_label("Your children's names").fill("An\nBinh")
            page.get_by_role("button", name="Start").click()

            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("heading", name="Log in")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "02-login.png", full_page=True)
            page.get_by_label("Parent password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            # Five risky incidents below the pinned help request, however many detections each had.
            expect(page.get_by_role("heading", name="Your child asked for help")).to_be_visible()
            expect(page.locator("#result-count")).to_have_text("5 incidents")
            expect(page.locator("section.pinned li.alert-row")).to_have_count(1)
            expect(page.locator(".badge")).to_contain_text("6")
            expect(page.get_by_text("a device not yet assigned: Living-room tablet")).to_be_visible()
            assert "unassigned" not in page.content().lower().replace("not yet assigned", "")
            page.screenshot(path=ARTIFACTS / "03-incidents.png", full_page=True)

            # The online-kidnapping chat: its own urgent advice, the emergency box, the conversation.
            page.get_by_text("Conversation with Officer_Tran").click()
            expect(page.get_by_role("heading", name="Online kidnapping alert for An")).to_be_visible()
            expect(page.get_by_role("heading", name="If your child may be in danger now")).to_be_visible()
            expect(page.get_by_text("call the police: 113")).to_be_visible()
            expect(page.locator(".transcript li")).to_have_count(3)
            expect(page.locator(".turn.from-child")).to_have_count(1)
            expect(page.locator(".turn.risky mark").first).to_have_text("do not tell your parents")
            expect(page.get_by_text("severity rose from Medium to High")).to_be_visible()
            assert "promises something free" not in page.content()
            page.screenshot(path=ARTIFACTS / "04-kidnapping.png", full_page=True)
            page.get_by_role("button", name="Mark as reviewed").click()
            expect(page.get_by_text("Marked as reviewed.")).to_be_visible()
            expect(page.locator(".badge")).to_contain_text("5")

            # A grooming chat: the photo request highlighted on its turn, with its stage; no emergency box.
            page.get_by_role("link", name="All alerts").click()
            page.get_by_text("Conversation with coach_mike").click()
            expect(page.get_by_role("heading", name="Grooming alert for Binh")).to_be_visible()
            risky = page.locator(".turn.risky").last
            expect(risky.locator("mark").first).to_have_text("send me a pic of you")
            expect(risky.get_by_text("Asking for photos")).to_be_visible()
            expect(page.get_by_role("heading", name="If your child may be in danger now")).to_have_count(0)
            page.screenshot(path=ARTIFACTS / "05-grooming.png", full_page=True)

            # Evidence for the police: a printable page naming the file's checksum.
            page.get_by_role("link", name="Evidence for the police or school").click()
            expect(page.get_by_role("heading", name="Checksum")).to_be_visible()
            assert re.fullmatch(r"[0-9a-f]{64}", page.locator("#checksum").inner_text())
            expect(page.get_by_text("send me a pic of you, just you in your room")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "06-evidence.png", full_page=True)
            page.get_by_role("link", name="Back to the incident").click()

            # Delete asks first; "Keep it" keeps it.
            page.get_by_role("link", name="Delete").click()
            expect(page.get_by_role("heading", name="Delete this incident?")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "07-delete-confirm.png", full_page=True)
            page.get_by_role("link", name="Keep it").click()
            expect(page.get_by_role("heading", name="Grooming alert for Binh")).to_be_visible()

            # The page seen on a device not yet assigned: what the child did, then assign it.
            page.get_by_role("link", name="All alerts").click()
            page.get_by_text("Kim cương miễn phí").click()
            expect(page.get_by_text("Went back from the warning page")).to_be_visible()
            expect(page.get_by_role("heading", name="If your child may be in danger now")).to_have_count(0)
            page.get_by_label("Child").select_option("Binh")
            page.get_by_role("button", name="Assign this device").click()
            expect(page.get_by_role("heading", name="Free game currency scam alert for Binh")).to_be_visible()

            # Bulk review from the list.
            page.get_by_role("link", name="All alerts").click()
            boxes = page.locator("input[name=incident]")
            for i in range(boxes.count()):
                boxes.nth(i).check()
            page.get_by_role("button", name="Mark selected as reviewed").click()
            expect(page.get_by_text("incidents marked as reviewed.")).to_be_visible()
            expect(page.locator(".badge")).to_contain_text("1")  # the help request stays pinned
            page.screenshot(path=ARTIFACTS / "08-reviewed.png", full_page=True)

            # Vietnamese.
            page.get_by_role("button", name="Tiếng Việt").click()
            expect(page.locator("#result-count")).to_have_text("5 sự việc")
            assert page.locator("html").get_attribute("lang") == "vi"
            page.screenshot(path=ARTIFACTS / "09-incidents-vi.png", full_page=True)
            page.get_by_text("Trò chuyện với Officer_Tran").click()
            expect(
                page.get_by_role("heading", name="Nếu con có thể đang gặp nguy hiểm ngay lúc này")
            ).to_be_visible()
            page.screenshot(path=ARTIFACTS / "10-kidnapping-vi.png", full_page=True)
            page.get_by_role("link", name="Tổng quan").click()
            expect(page.locator("figure.chart .bar").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "11-overview-vi.png", full_page=True)

            # A phone: every page fits 390 px, the chart's labels are legible.
            for lang, locale in (("en", "en-US"), ("vi", "vi-VN")):
                phone = browser.new_page(viewport=PHONE, locale=locale)
                phone.set_default_timeout(TIMEOUT_MS)
                phone.context.add_cookies(page.context.cookies())
                phone.goto(dashboard_url + "/alerts/")
                with phone.expect_navigation():
                    phone.get_by_role("button", name="English" if lang == "en" else "Tiếng Việt").click()
                fits(phone)
                phone.screenshot(path=ARTIFACTS / f"12-phone-incidents-{lang}.png", full_page=True)
                phone.locator("a", has_text="Officer_Tran").click()
                fits(phone)
                phone.screenshot(path=ARTIFACTS / f"13-phone-kidnapping-{lang}.png", full_page=True)
                phone.goto(dashboard_url + "/overview/")
                fits(phone)
                size = phone.locator(".bar-label").first.evaluate(
                    "e => parseFloat(getComputedStyle(e).fontSize)"
                )
                assert size >= 14
                phone.screenshot(path=ARTIFACTS / f"14-phone-overview-{lang}.png", full_page=True)
                phone.close()
        finally:
            browser.close()
    assert dialogs == []  # the onerror payload in the snippet never ran
