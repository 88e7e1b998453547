"""End to end: a child asks for help through a real proxy process, from the warning page and from the help
page at notalone.home.arpa; the alert reaches the store and ``notalone alerts --json``."""

from __future__ import annotations

import asyncio
import html
import json
import re
import subprocess
import sys
from collections.abc import Callable

import aiohttp
import pytest
from proxy_harness import (
    CHILD,
    DEVICE,
    ROOT,
    Fetched,
    Origin,
    OriginCertificates,
    ProxyProcess,
    fetch,
    poll,
    start_proxy,
)

from alert_store import AlertFilter
from proxy_addon.child_pages import CLICK_HEADERS, HELP_URL, HOST, ORIGIN

pytestmark = pytest.mark.e2e

HELP = HELP_URL


@pytest.fixture(scope="module")
def warn(child_proxy: Callable[..., ProxyProcess]) -> ProxyProcess:
    return child_proxy(mode="warn")


async def _post(proxy: ProxyProcess, url: str, fields: dict[str, str], headers: dict[str, str]) -> Fetched:
    async with (
        aiohttp.ClientSession(trust_env=False) as session,
        session.post(
            url,
            data=fields,
            proxy=proxy.url,
            ssl=proxy.client_ssl(),
            headers=headers,
            allow_redirects=False,
        ) as response,
    ):
        return Fetched(response.status, await response.read(), dict(response.headers))


def post(
    proxy: ProxyProcess, url: str, fields: dict[str, str], headers: dict[str, str] | None = CLICK_HEADERS
) -> Fetched:
    """POST a form through the proxy, as a browser submits one when the child clicks its button
    (application/x-www-form-urlencoded, with the navigation headers of a click)."""
    return asyncio.run(_post(proxy, url, fields, headers or {}))


def field(page: bytes, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.decode())
    assert match, f"no {name} field in the page"
    return html.unescape(match.group(1))


def action(page: bytes, button_id: str) -> str:
    match = re.search(rf'action="([^"]+)">(?:(?!</form>).)*id="{button_id}"', page.decode(), re.S)
    assert match, f"no form with a {button_id} button in the page"
    return ORIGIN + html.unescape(match.group(1))


def help_alerts(proxy: ProxyProcess) -> list:
    with proxy.store() as store:
        return store.list(AlertFilter(category="help"), limit=100)


def test_tell_my_parent_on_a_warned_scam_page_records_a_help_alert_and_the_choice(
    warn: ProxyProcess, origin: Origin
) -> None:
    page = fetch(warn, origin.https + "/win?session=abc123")  # redirected to its warning
    assert b'id="tell-parent"' in page.body and b"Tell my parent" in page.body
    [model_alert] = warn.wait_for_alerts(1)  # the model's alert for the page
    answer = post(warn, action(page.body, "tell-parent"), {"token": field(page.body, "token"), "lang": "en"})
    assert answer.status == 200
    assert b"You did the right thing. Your parent will see this." in answer.body
    [alert] = poll(lambda: help_alerts(warn), 60)
    assert (alert.child, alert.device, alert.category, alert.severity, alert.source) == (
        CHILD,
        DEVICE,
        "help",
        "high",
        "child",
    )
    assert alert.url == origin.https + "/win" and alert.snippet and alert.model_version
    with warn.store() as store:
        assert store.choices_for(model_alert.id) == ["told_parent"]


def test_help_page_form_through_the_proxy_records_a_help_alert(warn: ProxyProcess) -> None:
    before = len(help_alerts(warn))
    page = fetch(warn, HELP, headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert page.status == 200 and "Gửi cho bố mẹ".encode() in page.body and b'href="tel:111"' in page.body
    note = "Có người bảo mình gửi mã OTP <script>alert(1)</script>"
    answer = post(
        warn,
        HELP,
        {"token": field(page.body, "token"), "lang": "vi", "topic": "money", "note": note, "app": "Zalo"},
    )
    assert answer.status == 200 and "Bạn đã làm đúng. Bố mẹ sẽ thấy tin này.".encode() in answer.body
    alerts = poll(lambda: (found := help_alerts(warn)) and len(found) > before and found, 60)
    assert (alerts[0].child, alerts[0].child_note, alerts[0].app) == (CHILD, note, "Zalo")
    assert alerts[0].terms == ("money",)


def test_help_page_answers_over_https_with_the_proxys_certificate(warn: ProxyProcess) -> None:
    page = fetch(warn, f"https://{HOST}/?lang=en")
    assert page.status == 200 and b"Send to my parent" in page.body


def test_a_post_without_the_token_is_refused(warn: ProxyProcess) -> None:
    before = len(help_alerts(warn))
    assert post(warn, HELP, {"topic": "secret", "note": "forged"}).status == 403
    forged = post(warn, f"{ORIGIN}/warning/made-up/tell", {"token": "1.00"})
    assert forged.status == 404 and b'id="helpline"' in forged.body
    assert len(help_alerts(warn)) == before


def test_notalone_alerts_json_lists_help_alerts(warn: ProxyProcess) -> None:
    poll(lambda: len(help_alerts(warn)) >= 2, 60)
    out = subprocess.run(
        [sys.executable, "-m", "notalone", "alerts", "--json", "--data-dir", str(warn.data_dir.root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    listed = [a for a in json.loads(out) if a["category"] == "help"]
    assert len(listed) >= 2
    assert all(a["severity"] == "high" and a["kind"] == "help" and a["child"] == CHILD for a in listed)


def test_the_eleventh_report_in_an_hour_is_refused_politely(warn: ProxyProcess) -> None:
    """Runs last in this module: it uses up the device's reports for the hour."""
    token = field(fetch(warn, HELP).body, "token")
    answers = []
    for _ in range(11):
        answers.append(post(warn, HELP, {"token": token, "topic": "other", "lang": "en"}))
        if answers[-1].status != 200:
            break
    assert answers[-1].status == 429
    assert b"talk to your parent" in answers[-1].body and b'href="tel:111"' in answers[-1].body
    assert len(help_alerts(warn)) == 10  # every report this hour, from either page, counts


def test_a_client_outside_the_home_ranges_gets_nothing(
    tmp_path_factory: pytest.TempPathFactory, certificates: OriginCertificates
) -> None:
    proxy = start_proxy(
        tmp_path_factory.mktemp("data"), certificates, options={"notalone_home_ranges": "192.168.0.0/16"}
    )
    try:
        for attempt in (lambda: fetch(proxy, HELP), lambda: post(proxy, HELP, {"topic": "other"})):
            with pytest.raises(aiohttp.ClientError):
                attempt()
        assert help_alerts(proxy) == []
        poll(lambda: proxy.counters().get("clients.refused", 0) >= 2, 60)
    finally:
        proxy.stop()
