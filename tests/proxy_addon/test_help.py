"""The help desk: the help page, "Tell my parent", form tokens, the rate limit and the never-dead-end rule.

Hooks are driven with crafted flows in a mitmproxy test context; assertions are on the store and the flow.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from addon_fakes import Proxy
from mitmproxy import http
from mitmproxy.test import tflow

from alert_store import AlertFilter, SettingKey
from proxy_addon.help_page import HELP_HOST, helpline_number, render_result
from proxy_addon.help_text import language_for, scenario_of
from proxy_addon.help_token import SECRET_FILE, HelpTokens, load_secret
from proxy_addon.interstitial import TELL_PATH
from proxy_addon.rate_limit import RateLimit

DEVICE = "ip:127.0.0.1"  # tflow's client address
SCAM_HTML = (
    "<html><head><title>Free Robux!</title></head><body><p>Get 10000 free Robux now! Buy a gift card "
    "and send us the code to unlock your reward.</p></body></html>"
)


# -- tokens ------------------------------------------------------------------------------------------
def test_a_token_is_bound_to_its_device_and_lasts_one_to_two_hours(tmp_path: Path) -> None:
    tokens = HelpTokens.from_data_dir(tmp_path)
    now = 1_000_000 * 3600.0 + 10
    token = tokens.issue(DEVICE, now)
    assert tokens.verify(token, DEVICE, now)
    assert tokens.verify(token, DEVICE, now + 3600)  # the next bucket still accepts it
    assert not tokens.verify(token, DEVICE, now + 2 * 3600)
    assert not tokens.verify(token, "ip:192.168.1.7", now)
    assert not tokens.verify(token.replace(".", ".0", 1)[:-1], DEVICE, now)
    for forged in ("", "abc", f"{int(now // 3600)}.", "99999999999999999.00"):
        assert not tokens.verify(forged, DEVICE, now)


def test_the_secret_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    first = HelpTokens.from_data_dir(tmp_path)
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    again = HelpTokens.from_data_dir(tmp_path)
    assert again.verify(first.issue(DEVICE), DEVICE)
    assert load_secret(tmp_path / SECRET_FILE) == (tmp_path / SECRET_FILE).read_bytes()


# -- rate limit --------------------------------------------------------------------------------------
def test_the_eleventh_report_in_an_hour_is_refused_and_the_window_slides() -> None:
    limit = RateLimit(10, 3600.0)
    assert all(limit.take(DEVICE, now=100.0 + i) for i in range(10))
    assert not limit.take(DEVICE, now=200.0)
    assert limit.take("ip:10.0.0.2", now=200.0)  # per device
    assert limit.take(DEVICE, now=100.0 + 3600.0 + 0.5)  # the first report left the window


# -- texts ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seen", "scenario"),
    [
        ("Get 10000 free Robux now! send us the code", "robux"),
        ("This is the police. Your son is arrested, pay a fine now", "authority"),
        ("send me a pic and add me on telegram", "photos"),
        ("this is our secret, don't tell your mum", "secret"),
        ("Chuyển khoản 500.000 đồng để nhận quà", "money"),
        ("Chúc mừng bạn đã trúng thưởng", "scam"),
    ],
)
def test_the_lesson_fits_what_the_model_saw(seen: str, scenario: str) -> None:
    assert scenario_of(seen) == scenario


def test_language_follows_the_switch_then_the_browser() -> None:
    assert language_for("vi", "en-US") == "vi"
    assert language_for("", "fr-FR,vi;q=0.8,en;q=0.5") == "vi"
    assert language_for("xx", "de") == "en"


def test_helpline_setting_must_look_like_a_phone_number() -> None:
    assert helpline_number("18001567") == "18001567"
    assert helpline_number("+84 24 3934 5678") == "+84 24 3934 5678"
    assert helpline_number("<script>") == "111"
    assert helpline_number(None) == "111"


# -- the help page through the addon -------------------------------------------------------------------
def request(proxy: Proxy, flow: http.HTTPFlow) -> http.HTTPFlow:
    """Run the request hooks as mitmproxy does, the help desk's (async) among them."""
    proxy.request(flow)
    return flow


def get(url: str, **headers: str) -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request.url = url
    for name, value in headers.items():
        flow.request.headers[name.replace("_", "-")] = value
    return flow


def post(url: str, fields: dict[str, str], **headers: str) -> http.HTTPFlow:
    flow = get(url, **headers)
    flow.request.method = "POST"
    flow.request.headers["content-type"] = "application/x-www-form-urlencoded"
    flow.request.content = urlencode(fields).encode()
    return flow


def form_token(page: str) -> str:
    return html.unescape(re.search(r'name="token" value="([^"]+)"', page).group(1))


def test_help_page_form_records_a_high_severity_help_alert(proxy: Proxy) -> None:
    page = request(proxy, get(f"http://{HELP_HOST}/")).response
    assert page.status_code == 200 and 'id="notalone-help"' in page.text and "111" in page.text
    note = "someone says <b>don't tell</b> mum " + "x" * 1200
    answer = request(
        proxy,
        post(
            f"http://{HELP_HOST}/",
            {
                "token": form_token(page.text),
                "topic": "secret",
                "note": note,
                "app": "Roblox",
                "lang": "en",
            },
        ),
    ).response
    assert answer.status_code == 200 and "You did the right thing" in answer.text
    assert "keep secrets" in answer.text  # the lesson for that topic
    [alert] = proxy.store.list(AlertFilter(category="help"))
    assert (alert.child, alert.device) == ("unassigned", DEVICE)
    assert (alert.severity, alert.source, alert.probability) == ("high", "child", 1.0)
    assert alert.child_note == note[:1000] and alert.app == "Roblox" and alert.terms == ("secret",)
    assert proxy.store.counters()["help.received"] == 1


def test_help_page_speaks_vietnamese_and_offers_a_switch(proxy: Proxy) -> None:
    page = request(proxy, get(f"http://{HELP_HOST}/", accept_language="vi-VN,vi;q=0.9")).response.text
    assert '<html lang="vi">' in page and "Gửi cho bố mẹ" in page and 'href="/?lang=en"' in page
    english = request(proxy, get(f"http://{HELP_HOST}/?lang=en", accept_language="vi")).response.text
    assert "Send to my parent" in english


def test_a_post_without_a_valid_token_is_refused(proxy: Proxy) -> None:
    for fields in ({"topic": "money"}, {"topic": "money", "token": "1.abc"}):
        answer = request(proxy, post(f"https://{HELP_HOST}/", fields)).response
        assert answer.status_code == 403 and 'id="helpline"' in answer.text
    other_device = HelpTokens.from_data_dir(Path(proxy.store.path).parent).issue("ip:192.168.1.50")
    assert request(proxy, post(f"http://{HELP_HOST}/", {"token": other_device})).response.status_code == 403
    assert proxy.store.count(AlertFilter(category="help")) == 0


def test_the_eleventh_report_in_an_hour_gets_a_polite_page_with_the_helpline(proxy: Proxy) -> None:
    token = proxy.pages.help_desk.issue_token(DEVICE)
    statuses = [
        request(proxy, post(f"http://{HELP_HOST}/", {"token": token, "topic": "other"})).response
        for _ in range(11)
    ]
    assert [r.status_code for r in statuses] == [200] * 10 + [429]
    assert "talk to your parent" in statuses[-1].text and 'href="tel:111"' in statuses[-1].text
    assert proxy.store.count(AlertFilter(category="help")) == 10


def test_a_store_failure_still_shows_the_helpline_and_is_counted(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(proxy.pages.help_desk, "_record", broken)
    token = proxy.pages.help_desk.issue_token(DEVICE)
    answer = request(proxy, post(f"http://{HELP_HOST}/", {"token": token, "lang": "vi"})).response
    assert answer.status_code == 503 and "Hãy kể ngay" in answer.text and 'href="tel:111"' in answer.text
    assert proxy.pages.help_desk.store_failures == 1
    proxy.settle()
    assert proxy.store.counters()["help.store_failed"] == 1


def test_the_parents_helpline_setting_is_shown(proxy: Proxy) -> None:
    proxy.store.set_setting(SettingKey.HELPLINE, "18001567")
    proxy.refresh()
    page = request(proxy, get(f"http://{HELP_HOST}/")).response.text
    assert 'href="tel:18001567"' in page and "111 is the children" not in page


def test_clients_outside_the_home_ranges_get_nothing(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_home_ranges=["192.168.0.0/16"])
    flow = request(proxy, get(f"http://{HELP_HOST}/"))
    assert flow.response is None and flow.error is not None  # killed


def test_render_result_refuses_an_unknown_result() -> None:
    with pytest.raises(ValueError, match="oops"):
        render_result(lang="en", result="oops", helpline="111")


# -- "Tell my parent" on the warning page -------------------------------------------------------------
def warned_page(proxy: Proxy, url: str = "https://games.example/robux?ref=abc") -> tuple[str, http.HTTPFlow]:
    flow = tflow.tflow(resp=True)
    flow.request.url = url
    flow.response.headers["content-type"] = "text/html; charset=utf-8"
    flow.response.content = SCAM_HTML.encode()
    proxy.response(flow)
    return flow.response.text, flow


def test_tell_my_parent_records_a_help_alert_with_the_evidence_and_the_choice(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    page, _ = warned_page(proxy)
    assert 'id="tell-parent"' in page and f'action="{TELL_PATH}"' in page
    proxy.settle()  # the model's alert is written
    tell_token = html.unescape(re.search(r'name="t" value="([^"]+)"', page).group(1))
    answer = request(
        proxy,
        post(
            "https://games.example" + TELL_PATH,
            {
                "t": tell_token,
                "token": form_token(page),
                "lang": "en",
            },
        ),
    ).response
    assert answer.status_code == 200 and "Your parent will see this." in answer.text
    assert "Robux" in answer.text and 'id="go-back"' in answer.text  # the lesson, and a way back
    [model_alert] = proxy.store.list(AlertFilter(category="scam"))
    [help_alert] = proxy.store.list(AlertFilter(category="help"))
    assert help_alert.url == "https://games.example/robux" and help_alert.severity == "high"
    assert "gift card" in help_alert.snippet and help_alert.model_version == "test-1"
    assert proxy.store.choices_for(model_alert.id) == ["told_parent"]


def test_tell_needs_both_tokens_and_a_post(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="block")
    page, _ = warned_page(proxy)
    tell_token = html.unescape(re.search(r'name="t" value="([^"]+)"', page).group(1))
    back_link = html.unescape(re.search(r'id="go-back" href="([^"]+)"', page).group(1))
    back_token = back_link.split("t=", 1)[1]
    url = "https://games.example" + TELL_PATH
    assert request(proxy, post(url, {"t": tell_token})).response.status_code == 403
    assert request(proxy, post(url, {"t": back_token, "token": form_token(page)})).response.status_code == 403
    assert request(proxy, get(url)).response.status_code == 405
    assert proxy.store.count(AlertFilter(category="help")) == 0


def test_go_back_records_the_choice_against_the_models_alert(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    page, _ = warned_page(proxy)
    back_link = html.unescape(re.search(r'id="go-back" href="([^"]+)"', page).group(1))
    assert request(proxy, get("https://games.example" + back_link)).response.status_code == 200
    proxy.settle()
    [model_alert] = proxy.store.list(AlertFilter(category="scam"))
    assert proxy.store.choices_for(model_alert.id) == ["went_back"]
