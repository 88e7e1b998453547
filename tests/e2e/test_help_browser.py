"""A child in a real browser asks for help through the real proxy; the parent sees it first on the
dashboard. Screenshots of the help page, the warning page and the answers (EN and VI) go to
test-artifacts/help/ for a human to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from child_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, launch
from proxy_harness import (
    Origin,
    OriginCertificates,
    ProxyProcess,
    assign_child,
    free_port,
    make_certificates,
    poll,
    serving_dashboard,
    start_proxy,
)

from alert_store import AlertFilter
from proxy_addon.child_pages import HELP_URL

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "help"
CHILD = "An"
PASSWORD = "a calm family password"
NOTE = "A man in the game says he is my teacher and wants a photo <b>now</b>"


@pytest.fixture
def dashboard_port() -> int:
    return free_port()


@pytest.fixture
def proxy(tmp_path: Path, dashboard_port: int) -> Iterator[ProxyProcess]:
    certificates: OriginCertificates = make_certificates(tmp_path)
    root = tmp_path / "data"
    assign_child(root, CHILD)
    origin = Origin(certificates).start()
    # The browser sends loopback traffic through the proxy too (the origin is on 127.0.0.1); the
    # dashboard's own pages are never read.
    running = start_proxy(
        root, certificates, mode="warn", options={"notalone_dashboard": f"127.0.0.1:{dashboard_port}"}
    )
    running.origin = origin  # type: ignore[attr-defined]
    yield running
    running.stop()
    origin.stop()


@pytest.fixture
def dashboard_url(proxy: ProxyProcess, dashboard_port: int) -> Iterator[str]:
    with serving_dashboard(proxy.data_dir.root, dashboard_port) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)")
def test_child_asks_for_help_and_the_parent_sees_it_first(proxy: ProxyProcess, dashboard_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p, proxy)
        try:
            child = browser.new_page(viewport={"width": 390, "height": 844}, locale="en-US")
            child.set_default_timeout(TIMEOUT_MS)
            child.goto(HELP_URL)
            expect(child.get_by_role("heading", name="You can always ask for help")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "01-help-en.png", full_page=True)
            child.get_by_label("Someone asks for photos or to meet").check()
            child.get_by_label("Do you want to say more?").fill(NOTE)
            child.get_by_label("Which app or website?").fill("Roblox")
            child.get_by_role("button", name="Send to my parent").click()
            expect(child.get_by_text("You did the right thing. Your parent will see this.")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "02-thanks-en.png", full_page=True)

            child.goto(HELP_URL)
            child.get_by_role("link", name="Tiếng Việt").click()
            expect(child.get_by_role("heading", name="Bạn luôn có thể nhờ giúp đỡ")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "03-help-vi.png", full_page=True)
            child.get_by_label("Có người bảo mình giữ bí mật").check()
            child.get_by_role("button", name="Gửi cho bố mẹ").click()
            expect(child.get_by_text("Bạn đã làm đúng. Bố mẹ sẽ thấy tin này.")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "04-thanks-vi.png", full_page=True)

            origin: Origin = proxy.origin  # type: ignore[attr-defined]
            child.goto(origin.http + "/win")
            expect(child.get_by_role("button", name="Tell my parent")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "05-warning-en.png", full_page=True)
            child.get_by_role("button", name="Tell my parent").click()
            expect(child.get_by_text("Your parent will see this.")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "06-told-en.png", full_page=True)

            child.get_by_role("link", name="What does NotAlone check?").click()  # on every child page
            expect(child.get_by_role("heading", name="What your parent sees")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "06b-about-en.png", full_page=True)
            child.get_by_role("link", name="Tiếng Việt").click()
            expect(child.get_by_role("heading", name="Bố mẹ bạn thấy gì")).to_be_visible()
            child.screenshot(path=ARTIFACTS / "06c-about-vi.png", full_page=True)

            vi = browser.new_page(
                viewport={"width": 390, "height": 844},
                locale="vi-VN",
                extra_http_headers={"Accept-Language": "vi-VN,vi;q=0.9"},
            )
            vi.set_default_timeout(TIMEOUT_MS)
            vi.goto(origin.http + "/win")
            vi.screenshot(path=ARTIFACTS / "07-warning-vi.png", full_page=True)
            vi.get_by_role("button", name="Báo bố mẹ").click()
            expect(vi.get_by_text("Bạn đã làm đúng.")).to_be_visible()
            vi.screenshot(path=ARTIFACTS / "08-told-vi.png", full_page=True)

            def stored() -> int:
                with proxy.store() as store:
                    return store.count(AlertFilter(category="help"))

            poll(lambda: stored() >= 4, 60)

            # The parent opens the dashboard directly, not through the proxy (which refuses the box's own
            # services to every client, the dashboard included).
            parents_browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            parent = parents_browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
            parent.set_default_timeout(TIMEOUT_MS)
            parent.goto(dashboard_url + "/alerts/")
            parent.get_by_label("Parent password").fill(PASSWORD)
            parent.get_by_label("Password again").fill(PASSWORD)
            parent.get_by_label("Your children's names").fill(CHILD)
            parent.get_by_role("button", name="Start").click()
            if not parent.url.rstrip("/").endswith("/alerts"):
                parent.goto(dashboard_url + "/alerts/")
            pinned = parent.locator("section.pinned")
            expect(pinned.get_by_role("heading", name="Your child asked for help")).to_be_visible()
            expect(pinned.locator("li.alert-row.help")).to_have_count(4)
            expect(pinned.get_by_text("he is my teacher and wants a photo <b>now</b>")).to_be_visible()
            parent.screenshot(path=ARTIFACTS / "09-dashboard.png", full_page=True)
            parents_browser.close()
        finally:
            browser.close()
