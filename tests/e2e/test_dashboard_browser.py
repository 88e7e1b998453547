"""A parent in a real browser: first-run setup, login, an alert, "reviewed", Vietnamese. Screenshots go to
test-artifacts/dashboard/ for a human to look at."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy_harness import free_port, serving_dashboard

from alert_store import Alert, AlertStore, DataDir

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


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    root = DataDir(tmp_path / "data").ensure()
    now = time.time()
    with AlertStore(root.database) as store:
        store.add(
            Alert(
                child="An",
                category="scam",
                severity="high",
                probability=0.93,
                snippet="Your son is in hospital after an accident. Transfer 20,000,000 VND now "
                "<img src=x onerror=alert(1)> or we cannot treat him.",
                terms=("in hospital", "transfer"),
                url="https://pay-now.example/urgent",
                app="Zalo",
                created_at=now - 3600,
            )
        )
        store.add(
            Alert(
                child="Binh",
                category="grooming",
                severity="medium",
                probability=0.71,
                snippet="you seem so mature for 12. let's keep this our secret and talk on telegram",
                terms=("our secret", "telegram"),
                stages=("flattery", "secrecy", "private_app"),
                app="Roblox",
                created_at=now - 7200,
            )
        )
        store.add(
            Alert(
                child="An",
                category="help",
                severity="high",
                probability=1.0,
                source="child",
                snippet="",
                child_note="someone says they will hurt mum if I don't send a code",
                url="https://game.example/chat",
                created_at=now - 600,
            )
        )
        store.touch_device("an-phone", "192.168.1.23")
        store.record_blind_spot("tls_failed", "bank.example", "an-phone")
    with serving_dashboard(root.root, free_port()) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)")
def test_parent_sets_up_logs_in_reviews_an_alert_and_switches_to_vietnamese(dashboard_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
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

            expect(page.get_by_role("heading", name="Your child asked for help")).to_be_visible()
            expect(page.locator(".badge")).to_contain_text("3")
            page.screenshot(path=ARTIFACTS / "03-alerts.png", full_page=True)

            page.get_by_text("Your son is in hospital").click()
            expect(
                page.get_by_role("heading", name="If someone says your child is in danger")
            ).to_be_visible()
            expect(page.locator("mark").first).to_have_text("in hospital")
            page.screenshot(path=ARTIFACTS / "04-alert.png", full_page=True)
            page.get_by_role("button", name="Mark as reviewed").click()
            expect(page.get_by_text("Marked as reviewed.")).to_be_visible()
            expect(page.locator(".badge")).to_contain_text("2")
            page.screenshot(path=ARTIFACTS / "05-reviewed.png", full_page=True)

            page.get_by_role("button", name="Tiếng Việt").click()
            expect(page.get_by_role("button", name="Đánh dấu chưa xem")).to_be_visible()
            assert page.locator("html").get_attribute("lang") == "vi"
            page.screenshot(path=ARTIFACTS / "06-alert-vi.png", full_page=True)
            page.get_by_role("link", name="Cảnh báo").first.click()
            expect(page.get_by_role("heading", name="Con bạn cần giúp đỡ")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "07-alerts-vi.png", full_page=True)
            page.get_by_role("link", name="Tổng quan").click()
            expect(page.locator("svg.chart-svg, figure.chart svg").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "08-overview-vi.png", full_page=True)

            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="vi-VN")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(dashboard_url + "/alerts/")
            phone.screenshot(path=ARTIFACTS / "09-phone-alerts-vi.png", full_page=True)
        finally:
            browser.close()
    assert dialogs == []  # the onerror payload in the snippet never ran
