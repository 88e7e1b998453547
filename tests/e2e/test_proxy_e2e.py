"""End to end: a real proxy process, an origin (HTTP, HTTPS, WebSocket), a client trusting the proxy's CA."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable
from html import unescape

import aiohttp
import pytest
from proxy_harness import (
    BENIGN_PAGES,
    CHILD,
    DEVICE,
    ROOT,
    SCAM_HTML,
    Fetched,
    Origin,
    OriginCertificates,
    ProxyProcess,
    chat,
    fetch,
    poll,
    start_proxy,
)

from proxy_addon.child_pages import CLICK_HEADERS, ORIGIN

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def monitor(child_proxy: Callable[..., ProxyProcess]) -> ProxyProcess:
    return child_proxy()


def test_proxy_keeps_its_ca_key_private(monitor: ProxyProcess) -> None:
    assert monitor.data_dir.confdir.stat().st_mode & 0o777 == 0o700
    assert (monitor.data_dir.confdir / "mitmproxy-ca.pem").stat().st_mode & 0o777 == 0o600
    with monitor.store() as store:
        status = store.settings()["status.proxy"]
    assert status["scoring"] == "on" and status["mode"] == "monitor" and status["model_version"]


def test_monitor_mode_passes_bytes_unchanged_and_alerts_on_the_scam_only(
    monitor: ProxyProcess, origin: Origin
) -> None:
    for path, html in BENIGN_PAGES.items():
        for base in (origin.http, origin.https):
            page = fetch(monitor, base + path)
            assert (page.status, page.body) == (200, html.encode())
    big = fetch(monitor, origin.http + "/big?n=1")
    assert big.body.startswith(b"<!doctype html>") and len(big.body) > 100_000

    scam = fetch(monitor, origin.https + "/win?session=abc123")
    assert scam.body == SCAM_HTML.encode()  # monitor mode: the origin's bytes, untouched

    # The worker is first-in first-out: once the scam's alert exists, the benign pages were scored too.
    alerts = monitor.wait_for_alerts(1)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.child, alert.device, alert.category) == (CHILD, DEVICE, "scam")
    assert alert.url == origin.https + "/win"  # the query string never reaches the store
    assert "gift card" in alert.snippet and len(alert.snippet) <= 500
    assert alert.title == "You won an iPhone!"
    assert alert.terms and alert.model_version

    listed = subprocess.run(
        [sys.executable, "-m", "notalone", "alerts", "--json", "--data-dir", str(monitor.data_dir.root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    [row] = json.loads(listed.stdout)
    assert (row["category"], row["child"], row["url"]) == ("scam", CHILD, origin.https + "/win")


def test_grooming_chat_over_websocket_alerts_for_the_child(monitor: ProxyProcess, origin: Origin) -> None:
    ws_url = origin.https.replace("https", "wss") + "/ws/dm/sam_2011"
    replies = chat(monitor, ws_url, ("hi", "12", "ok"))
    assert len(replies) == 3

    def grooming() -> list:
        return [a for a in monitor.store_list() if a.category == "grooming"]

    # The window is re-scored as it grows; a new alert comes when the grooming escalates (secrecy).
    alerts = poll(lambda: [a for a in grooming() if "secrecy" in a.stages], 90) and grooming()
    assert {(a.child, a.device, a.direction) for a in alerts} == {(CHILD, DEVICE, "incoming")}
    assert {a.conversation_key for a in alerts} == {"127.0.0.1/dm/sam_2011"}
    alert = next(a for a in alerts if "secrecy" in a.stages)
    assert "secret" in alert.snippet and len(alert.snippet) <= 500
    with monitor.store() as store:
        turns = store.conversation(alert.conversation_key)
    assert {t.direction for t in turns} == {"incoming", "outgoing"}


def click(proxy: ProxyProcess, page: str, button_id: str) -> Fetched:
    """Submit the warning page's form that holds ``button_id``, with the headers of a real click."""
    match = re.search(rf'action="([^"]+)">(?:(?!</form>).)*id="{button_id}"', page, re.S)
    assert match, f"no form with a {button_id} button in the page"
    token = unescape(re.search(r'name="token" value="([^"]*)"', page).group(1))
    return asyncio.run(_post(proxy, ORIGIN + unescape(match.group(1)), {"token": token}))


async def _post(proxy: ProxyProcess, url: str, fields: dict[str, str]) -> Fetched:
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.post(
            url, data=fields, proxy=proxy.url, ssl=proxy.client_ssl(), headers=CLICK_HEADERS
        ) as response,
    ):
        return Fetched(response.status, await response.read(), dict(response.headers))


@pytest.fixture(scope="module")
def warn(child_proxy: Callable[..., ProxyProcess]) -> ProxyProcess:
    return child_proxy(mode="warn")


def test_warn_mode_shows_the_interstitial_and_continue_opens_the_page(
    warn: ProxyProcess, origin: Origin
) -> None:
    benign = fetch(warn, origin.https + "/homework")
    assert benign.body == BENIGN_PAGES["/homework"].encode()

    page = fetch(warn, origin.https + "/win")  # redirected to its warning at notalone.home.arpa
    text = page.body.decode()
    assert 'id="notalone-interstitial"' in text and 'id="continue-anyway"' in text
    assert "send the code now" not in text
    continued = click(warn, text, "continue-anyway")  # the child's click, as the browser sends it
    assert continued.status == 200 and (origin.https + "/win").encode() in continued.body

    through = fetch(warn, origin.https + "/win")  # that device may open that page now
    assert through.body == SCAM_HTML.encode()
    [alert] = warn.wait_for_alerts(1)
    assert (alert.child, alert.category) == (CHILD, "scam")
    poll(lambda: warn.counters().get("interstitial.continued") == 1, 60)


def test_warn_mode_speaks_vietnamese_to_a_vietnamese_browser(warn: ProxyProcess, origin: Origin) -> None:
    page = fetch(warn, origin.http + "/win", headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert "Quay lại an toàn" in page.body.decode()


@pytest.fixture(scope="module")
def block(child_proxy: Callable[..., ProxyProcess]) -> ProxyProcess:
    return child_proxy(mode="block")


def test_block_mode_shows_the_interstitial_without_continue(block: ProxyProcess, origin: Origin) -> None:
    text = fetch(block, origin.https + "/win").body.decode()
    assert 'id="notalone-interstitial"' in text and 'id="go-back"' in text
    assert "continue-anyway" not in text


def test_a_cloned_sign_in_page_off_its_brands_host_is_warned_as_phishing(
    child_proxy: Callable[..., ProxyProcess], origin: Origin
) -> None:
    proxy = child_proxy(mode="warn")
    text = fetch(proxy, origin.https + "/signin").body.decode()
    assert 'id="notalone-interstitial"' in text and "Email address or phone number" not in text
    [alert] = proxy.wait_for_alerts(1)
    assert (alert.category, alert.severity) == ("scam", "high")
    assert alert.terms[0] == "a Facebook sign-in page on 127.0.0.1"


def test_an_exception_inside_scoring_still_delivers_the_page(
    tmp_path_factory: pytest.TempPathFactory, certificates: OriginCertificates, origin: Origin
) -> None:
    proxy = start_proxy(
        tmp_path_factory.mktemp("data"),
        certificates,
        mode="warn",
        via_mitmdump=True,
        options={"notalone_model_factory": "tests.e2e.exploding_scoring:exploding_model"},
    )
    try:
        assert fetch(proxy, origin.https + "/win").body == SCAM_HTML.encode()  # warn: scored in line
        ws_url = origin.https.replace("https", "wss") + "/ws/dm/sam_2011"
        assert len(chat(proxy, ws_url, ("hi", "12"))) == 2  # chat: scored by the worker
        counters = poll(
            lambda: (c := proxy.counters()).get("errors.guard") and c.get("errors.chat") and c, 90
        )
        assert counters["errors.guard"] >= 1 and counters["errors.chat"] >= 1
        assert proxy.store_list() == []
    finally:
        proxy.stop()
