"""Attacks on a served dashboard (waitress, real HTTP): a DNS-rebinding page in real Chromium, a session
cookie replayed after logout."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from proxy_harness import free_port, serving_dashboard

from alert_store import AlertStore, DataDir

pytestmark = [pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "a calm family password"
REBOUND = "rebind.attacker.test"


@pytest.fixture
def root(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


@pytest.fixture
def dashboard_url(root: DataDir) -> Iterator[str]:
    with serving_dashboard(root.root, free_port()) as url:
        yield url


class Browserless:
    """A client that keeps the session cookie by hand, as an attacker who copied it would."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Status, Location and body; a Set-Cookie replaces the kept cookie."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        if cookie := response.getheader("Set-Cookie"):
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        return response.status, response.getheader("Location") or "", text

    def csrf(self, path: str) -> str:
        _status, _location, page = self.request("GET", path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)


def test_a_session_cookie_replayed_after_logout_opens_nothing(dashboard_url: str) -> None:
    parent = Browserless(dashboard_url)
    status, _, _ = parent.request(
        "POST",
        "/setup",
        {"csrf_token": parent.csrf("/setup"), "password": PASSWORD, "confirm": PASSWORD, "children": "An"},
    )
    assert status == 302
    assert parent.request("GET", "/alerts/")[0] == 200
    kept = parent.cookie

    status, location, _ = parent.request("POST", "/logout", {"csrf_token": parent.csrf("/alerts/")})
    assert status == 302 and location.endswith("/login")

    thief = Browserless(dashboard_url)
    thief.cookie = kept
    for path in ("/alerts/", "/settings/", "/overview/", "/children/"):
        status, location, _ = thief.request("GET", path)
        assert status == 302 and "/login" in location, path


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)")
def test_a_dns_rebinding_page_cannot_reach_setup(dashboard_url: str, root: DataDir) -> None:
    """A page on the attacker's name, which now resolves to the box, scripts requests to its own origin."""
    from playwright.sync_api import sync_playwright

    port = urlsplit(dashboard_url).port
    attacker_origin = f"http://{REBOUND}:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-proxy-server",
                f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
            ],
        )
        try:
            page = browser.new_page()
            response = page.goto(attacker_origin + "/setup")
            assert response is not None and response.status == 400
            assert page.locator("input[name=password]").count() == 0
            outcome = page.evaluate(
                """async () => {
                    const setup = await fetch('/setup');
                    const text = await setup.text();
                    const token = (text.match(/name="csrf_token" value="([^"]+)"/) || [])[1] || '';
                    const body = new URLSearchParams({csrf_token: token, password: 'attacker-password',
                                                      confirm: 'attacker-password', children: 'Eve'});
                    const post = await fetch('/setup', {method: 'POST', body, redirect: 'manual'});
                    return {get: setup.status, token: token, post: post.status};
                }"""
            )
        finally:
            browser.close()
    assert outcome == {"get": 400, "token": "", "post": 400}
    with AlertStore(root.database) as store:
        assert "auth.password_hash" not in store.settings() and store.children() == {}
