"""The child's pages at notalone.home.arpa: help, warnings and their choices, what NotAlone does, device
set-up; tokens, the navigation rule, the rate limit, the helplines and the never-dead-end rule.

Hooks are driven with crafted flows in a mitmproxy test context; assertions are on the store and the flow.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from addon_fakes import Proxy
from child_pages_helpers import CLICK, action, field, get, open_warning, post, serve
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from alert_store import AlertFilter, signing
from proxy_addon.child_pages import HELP_URL, HOST, ChildPages
from proxy_addon.child_pages.ca import ensure_ca
from proxy_addon.child_pages.rate_limit import RateLimit
from proxy_addon.child_pages.texts import scenario_of
from proxy_addon.child_pages.warnings import Grants, PendingChoice, WarnedPage, WarnedPages

DEVICE = "ip:127.0.0.1"  # tflow's client address
OTHER_CLIENT = "192.168.1.50"
SCAM_URL = "https://games.example/robux?ref=abc"
SCAM_HTML = (
    "<html><head><title>Free Robux!</title></head><body><p>Get 10000 free Robux now! Buy a gift card "
    "and send us the code to unlock your reward.</p></body></html>"
)


# -- tokens --------------------------------------------------------------------------------------------------
def test_the_signing_secret_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    token = signing.signer(tmp_path, "child-form").dumps(["ip:10.0.0.2", ""])
    assert (tmp_path / signing.SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert signing.signer(tmp_path, "child-form").loads(token) == ["ip:10.0.0.2", ""]
    with pytest.raises(signing.BadData):
        signing.signer(tmp_path, signing.ENROL).loads(token)  # another purpose refuses it


def test_an_enrolment_token_is_short_lived_and_cannot_be_forged(tmp_path: Path) -> None:
    token = signing.mint_enrolment(tmp_path, "An's tablet")
    assert signing.check_enrolment(tmp_path, token) == {"name": "An's tablet"}
    assert signing.check_enrolment(tmp_path, token, max_age_s=-1) is None
    assert signing.check_enrolment(tmp_path, token[:-2] + "xx") is None
    (tmp_path / "elsewhere").mkdir()
    assert signing.check_enrolment(tmp_path / "elsewhere", token) is None  # another box


# -- bounded maps and the rate limit -------------------------------------------------------------------------
class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_choice_made_before_the_alert_is_written_waits_for_it() -> None:
    warned = WarnedPages()
    page = warned.remember(WarnedPage("", "An", DEVICE, SCAM_URL, "games.example", "warn"))
    choice = PendingChoice("An", "continued", DEVICE, SCAM_URL)
    assert warned.settled_or_defer(page.id, choice) == (False, None)  # the click beat the database
    assert warned.set_alert_id(page.id, 7) == (7, [choice])  # handed to the thread writing the alert
    assert warned.settled_or_defer(page.id, choice) == (True, 7)  # later clicks are recorded at once
    assert warned.set_alert_id(page.id, None) == (7, [])


def test_warnings_and_grants_are_bounded_and_expire() -> None:
    clock = Clock()
    grants = Grants(capacity=2, ttl_s=3600, timer=clock)
    for url in ("https://a.example/", "https://b.example/", "https://c.example/"):
        grants.grant(DEVICE, url)
    assert not grants.allows(DEVICE, "https://a.example/")  # the oldest made room
    assert grants.allows(DEVICE, "https://c.example/") and not grants.allows(
        "ip:10.0.0.9", "https://c.example/"
    )
    clock.now = 3600.5
    assert not grants.allows(DEVICE, "https://c.example/")

    warned = WarnedPages(capacity=10, ttl_s=7200, timer=clock)
    page = warned.remember(WarnedPage("", "An", DEVICE, SCAM_URL, "games.example", "warn"))
    assert len(page.id) >= 24 and warned.get(page.id) == page
    warned.set_alert_id(page.id, 7)
    again = warned.remember(WarnedPage("", "An", DEVICE, SCAM_URL, "games.example", "warn"))
    assert (again.id, again.alert_id) == (page.id, 7)
    assert warned.remember(WarnedPage("", "An", DEVICE, SCAM_URL, "games.example", "block")).id != page.id
    clock.now += 7200.5
    assert warned.get(page.id) is None


def test_the_eleventh_report_in_an_hour_is_refused_and_the_window_slides() -> None:
    limit = RateLimit(10, 3600)
    assert all(limit.take(DEVICE) for _ in range(10))
    assert not limit.take(DEVICE)
    assert limit.take("ip:10.0.0.2")  # per device
    short = RateLimit(1, 1)
    assert short.take(DEVICE) and not short.take(DEVICE)
    time.sleep(1.1)  # the window moves on: the first report has left it
    assert short.take(DEVICE)


# -- texts ---------------------------------------------------------------------------------------------------
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


# -- the help page -------------------------------------------------------------------------------------------
def help_form(proxy: Proxy, headers: dict[str, str] | None = None, client: str = "") -> str:
    flow = serve(proxy, get(HELP_URL, headers, client))
    assert flow.response is not None and flow.response.status_code == 200
    return flow.response.text or ""


def test_help_page_form_records_a_high_severity_help_alert(proxy: Proxy) -> None:
    page = help_form(proxy)
    assert 'id="notalone-help"' in page and 'href="tel:111"' in page and 'href="tel:113"' in page
    note = "someone says <b>don't tell</b> mum " + "x" * 1200
    fields = {"token": field(page, "token"), "topic": "secret", "note": note, "app": "Roblox", "lang": "en"}
    answer = serve(proxy, post(HELP_URL, fields)).response
    assert answer.status_code == 200 and "You did the right thing" in answer.text
    assert "keep secrets" in answer.text  # the lesson for that topic
    [alert] = proxy.store.list(AlertFilter(category="help"))
    assert (alert.child, alert.device) == ("unassigned", DEVICE)
    assert (alert.severity, alert.source, alert.probability) == ("high", "child", 1.0)
    assert alert.child_note == note[:1000] and alert.app == "Roblox" and alert.terms == ("secret",)
    assert proxy.store.counters()["help.received"] == 1


def test_help_page_speaks_vietnamese_and_offers_a_switch(proxy: Proxy) -> None:
    page = help_form(proxy, {"Accept-Language": "fr-FR,vi;q=0.8,en;q=0.5"})
    assert '<html lang="vi">' in page and "Gửi cho bố mẹ" in page and 'href="/?lang=en"' in page
    english = serve(proxy, get(HELP_URL + "?lang=en", {"Accept-Language": "vi"})).response.text
    assert "Send to my parent" in english
    assert '<html lang="en">' in help_form(proxy, {"Accept-Language": "de"})


def test_a_post_without_a_valid_token_is_refused(proxy: Proxy) -> None:
    for fields in ({"topic": "money"}, {"topic": "money", "token": "1.abc"}):
        answer = serve(proxy, post(HELP_URL, fields)).response
        assert answer.status_code == 403 and 'id="helpline"' in answer.text
    other_device = field(help_form(proxy, client=OTHER_CLIENT), "token")
    assert serve(proxy, post(HELP_URL, {"token": other_device})).response.status_code == 403
    assert proxy.store.count(AlertFilter(category="help")) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a script's fetch() from a browser without fetch metadata, or no browser at all
        {**CLICK, "Sec-Fetch-Site": "cross-site", "Origin": "https://games.example"},  # a form on a scam page
        {**CLICK, "Sec-Fetch-User": "?0"},  # form.submit() from a script, no click
        {k: v for k, v in CLICK.items() if k != "Sec-Fetch-User"},
        {**CLICK, "Sec-Fetch-Dest": "iframe"},
        {**CLICK, "Origin": "null"},
        {**CLICK, "Origin": "http://notalone.home.arpa"},
    ],
)
def test_a_post_that_is_not_a_click_on_these_pages_is_refused(proxy: Proxy, headers: dict[str, str]) -> None:
    token = field(help_form(proxy), "token")
    answer = serve(proxy, post(HELP_URL, {"token": token, "note": "Mum, call 0900 123"}, headers)).response
    assert answer.status_code == 403 and 'data-result="refused"' in answer.text
    assert proxy.store.count(AlertFilter(category="help")) == 0


def test_a_script_cannot_read_the_pages_and_plain_http_moves_to_https(proxy: Proxy) -> None:
    for mode in ("cors", "no-cors", "same-origin"):
        assert serve(proxy, get(HELP_URL, {"Sec-Fetch-Mode": mode})).response.status_code == 403
    moved = serve(proxy, get(f"http://{HOST}/about?lang=vi")).response
    assert (moved.status_code, moved.headers["location"]) == (302, f"https://{HOST}/about?lang=vi")
    token = field(help_form(proxy), "token")
    assert serve(proxy, post(f"http://{HOST}/", {"token": token})).response.status_code == 403
    assert proxy.store.count(AlertFilter(category="help")) == 0


def test_the_eleventh_report_in_an_hour_gets_a_polite_page_with_the_helpline(proxy: Proxy) -> None:
    token = field(help_form(proxy), "token")
    answers = [serve(proxy, post(HELP_URL, {"token": token, "topic": "other"})).response for _ in range(11)]
    assert [r.status_code for r in answers] == [200] * 10 + [429]
    assert "talk to your parent" in answers[-1].text and 'href="tel:111"' in answers[-1].text
    assert proxy.store.count(AlertFilter(category="help")) == 10


def test_a_store_failure_still_shows_the_helpline_and_is_counted(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(database: Path, request: object) -> int:
        raise OSError("disk full")

    state = proxy.pages.state
    monkeypatch.setattr(state, "record", broken)
    token = field(help_form(proxy), "token")
    answer = serve(proxy, post(HELP_URL, {"token": token, "lang": "vi"})).response
    assert answer.status_code == 503 and "Hãy kể ngay" in answer.text and 'href="tel:111"' in answer.text
    assert state.store_failures == 1
    assert proxy.store.counters()["help.store_failed"] == 1


@pytest.mark.parametrize(
    ("settings", "child_line", "emergency"),
    [
        ({"help.country": "GB"}, "tel:08001111", "tel:999"),
        ({"help.country": "AU"}, "tel:1800551800", "tel:000"),
        (
            {"help.country": "other", "help.child_line": "+41 147", "help.emergency": "117"},
            "tel:+41147",
            "tel:117",
        ),
        (
            {"help.country": "other", "help.child_line": "<script>", "help.emergency": "1"},
            "tel:111",
            "tel:113",
        ),
        ({"help.country": "XX"}, "tel:111", "tel:113"),
        (
            {"help.helpline": "18001567"},
            "tel:18001567",
            "tel:113",
        ),  # config.toml's, before a country is chosen
        ({"help.helpline": "18001567", "help.country": "GB"}, "tel:08001111", "tel:999"),
        ({"help.helpline": "call mum"}, "tel:111", "tel:113"),
    ],
)
def test_the_parents_country_gives_the_numbers_on_every_page(
    make_proxy: Callable[..., Proxy], settings: dict[str, str], child_line: str, emergency: str
) -> None:
    proxy = make_proxy(notalone_mode="block")
    for key, value in settings.items():
        proxy.store.set_setting(key, value)
    warning = open_warning(proxy, warned_page(proxy))
    for page in (help_form(proxy), warning):
        assert f'href="{child_line}"' in page and f'href="{emergency}"' in page
        assert "<script>" not in page


def test_clients_outside_the_home_ranges_get_nothing(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_home_ranges=["192.168.0.0/16"])
    flow = serve(proxy, get(HELP_URL))
    assert flow.response is None and flow.error is not None  # killed


# -- the warning page and its choices ------------------------------------------------------------------------
def warned_page(proxy: Proxy, url: str = SCAM_URL, html: str = SCAM_HTML, **headers: str) -> http.HTTPFlow:
    flow = tflow.tflow(resp=True)
    flow.request.url = url
    for name, value in headers.items():
        flow.request.headers[name] = value
    flow.response.headers["content-type"] = "text/html; charset=utf-8"
    flow.response.content = html.encode()
    proxy.response(flow)
    return flow


def test_the_warned_site_gets_only_a_redirect_with_nothing_usable_in_it(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    warned = warned_page(proxy)
    response = warned.response
    assert (
        response.status_code == 303 and response.content == b"" and response.headers["x-notalone"] == "warn"
    )
    assert response.headers["location"].startswith(f"https://{HOST}/warning/")
    assert "gift card" not in response.text and "token" not in str(response.headers).lower()
    page = open_warning(proxy, warned)
    assert 'id="notalone-interstitial"' in page and 'id="continue-anyway"' in page and "games.example" in page
    assert "send us the code" not in page and 'href="/about?lang=en"' in page


def test_tell_my_parent_records_a_help_alert_with_the_evidence_and_the_choice(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    page = open_warning(proxy, warned_page(proxy))
    proxy.settle()  # the model's alert is written
    answer = serve(proxy, post(action(page, "tell-parent"), {"token": field(page, "token")})).response
    assert answer.status_code == 200 and "Your parent will see this." in answer.text
    assert "Robux" in answer.text and 'id="go-back"' in answer.text  # the lesson, and a way back
    [model_alert] = proxy.store.list(AlertFilter(category="scam"))
    [help_alert] = proxy.store.list(AlertFilter(category="help"))
    assert help_alert.url == "https://games.example/robux" and help_alert.severity == "high"
    assert "gift card" in help_alert.snippet and help_alert.model_version == "test-1"
    assert proxy.store.choices_for(model_alert.id) == ["told_parent"]


def test_tell_my_parent_before_the_alert_is_written_is_recorded_against_it(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    database_busy = threading.Event()
    assert proxy.state.worker is not None
    proxy.state.worker.submit_write("tick", lambda store: database_busy.wait(20))  # the writer is held up
    page = open_warning(proxy, warned_page(proxy))
    answer = serve(proxy, post(action(page, "tell-parent"), {"token": field(page, "token")})).response
    assert answer.status_code == 200 and "Your parent will see this." in answer.text
    assert proxy.store.list(AlertFilter(category="scam")) == []  # the click beat the model's alert
    database_busy.set()
    proxy.settle()
    [model_alert] = proxy.store.list(AlertFilter(category="scam"))
    assert proxy.store.choices_for(model_alert.id) == ["told_parent"]


def test_every_choice_needs_the_token_and_a_click_on_the_warning_page(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    warned = warned_page(proxy)
    page = open_warning(proxy, warned)
    token = field(page, "token")
    help_token = field(help_form(proxy), "token")  # a token for another form
    for button in ("tell-parent", "continue-anyway", "go-back"):
        url = action(page, button)
        assert serve(proxy, post(url, {})).response.status_code == 403
        assert serve(proxy, post(url, {"token": help_token})).response.status_code == 403
        assert serve(proxy, post(url, {"token": token}, headers={})).response.status_code == 403
        scam_form = {**CLICK, "Sec-Fetch-Site": "cross-site", "Origin": "https://games.example"}
        assert serve(proxy, post(url, {"token": token}, headers=scam_form)).response.status_code == 403
        assert serve(proxy, get(url, CLICK)).response.status_code == 405
    proxy.settle()
    assert proxy.store.count(AlertFilter(category="help")) == 0
    assert not proxy.pages.allows(DEVICE, SCAM_URL)
    assert warned_page(proxy).response.status_code == 303  # still warned


def test_continue_anyway_lets_that_page_through_for_that_device_only(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    page = open_warning(proxy, warned_page(proxy))
    answer = serve(proxy, post(action(page, "continue-anyway"), {"token": field(page, "token")})).response
    assert answer.status_code == 200
    assert (
        f'content="2;url={SCAM_URL}"'.replace("&", "&amp;") in answer.text and 'id="open-page"' in answer.text
    )
    assert "gift card" in warned_page(proxy).response.text  # let through
    proxy.settle()
    [model_alert] = proxy.store.list(AlertFilter(category="scam"))
    assert proxy.store.choices_for(model_alert.id) == ["continued"]
    assert proxy.store.counters()["interstitial.continued"] == 1
    assert warned_page(proxy, url=SCAM_URL + "&other=1").response.status_code == 303  # only that URL
    assert not proxy.pages.allows("ip:192.168.1.50", SCAM_URL)  # only that device


def test_block_mode_offers_no_way_on_whatever_is_posted(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="block")
    warned = warned_page(proxy)
    page = open_warning(proxy, warned)
    assert "continue-anyway" not in page and 'id="go-back"' in page and 'id="blocked"' in page
    forged = warned.response.headers["location"] + "/continue"
    assert serve(proxy, post(forged, {"token": field(page, "token")})).response.status_code == 403
    assert warned_page(proxy).response.status_code == 303


def test_go_back_records_the_choice_against_the_models_alert(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    page = open_warning(proxy, warned_page(proxy))
    proxy.settle()
    answer = serve(proxy, post(action(page, "go-back"), {"token": field(page, "token")})).response
    assert answer.status_code == 200 and "Good choice!" in answer.text
    [model_alert] = proxy.store.list(AlertFilter(category="scam"))
    assert proxy.store.choices_for(model_alert.id) == ["went_back"]
    assert proxy.store.counters()["interstitial.went_back"] == 1


def test_another_device_can_neither_see_nor_answer_a_warning(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    warned = warned_page(proxy)
    page = open_warning(proxy, warned)
    location = warned.response.headers["location"]
    assert serve(proxy, get(location, client=OTHER_CLIENT)).response.status_code == 404
    theirs = field(help_form(proxy, client=OTHER_CLIENT), "token")
    for token in (theirs, field(page, "token")):
        flow = post(action(page, "continue-anyway"), {"token": token}, client=OTHER_CLIENT)
        assert serve(proxy, flow).response.status_code == 404
    assert not proxy.pages.allows("ip:" + OTHER_CLIENT, SCAM_URL)
    assert serve(proxy, get(f"https://{HOST}/warning/made-up")).response.status_code == 404


def test_the_same_page_warned_again_keeps_its_warning(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    first = warned_page(proxy).response.headers["location"]
    assert warned_page(proxy).response.headers["location"] == first
    assert warned_page(proxy, url=SCAM_URL + "&x=1").response.headers["location"] != first


def test_the_warning_speaks_the_pages_language_then_the_browsers(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    vietnamese_page = warned_page(proxy, html=SCAM_HTML.replace("<html>", '<html lang="vi">'))
    assert "Quay lại an toàn" in open_warning(proxy, vietnamese_page, {"Accept-Language": "en"})
    browser = warned_page(proxy, url=SCAM_URL + "&b=1")
    assert '<html lang="vi">' in open_warning(proxy, browser, {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"})


@pytest.mark.parametrize("path", ["/", "/about", "/warning/made-up", "/enrol/forged"])
def test_every_page_refuses_framing_and_loads_nothing_from_elsewhere(proxy: Proxy, path: str) -> None:
    headers = serve(proxy, get(f"https://{HOST}{path}")).response.headers
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp


# -- what NotAlone does --------------------------------------------------------------------------------------
def test_the_about_page_tells_the_child_what_is_checked_and_what_the_parent_sees(proxy: Proxy) -> None:
    english = serve(proxy, get(f"https://{HOST}/about")).response.text
    for section in ("about-checks", "about-parent", "about-never"):
        assert f'id="{section}"' in english
    assert "What your parent sees" in english and "not show your parent a list of everything" in english
    vietnamese = serve(proxy, get(f"https://{HOST}/about", {"Accept-Language": "vi"})).response.text
    assert '<html lang="vi">' in vietnamese and "Bố mẹ bạn thấy gì" in vietnamese


# -- setting up a child's device -----------------------------------------------------------------------------
def test_a_valid_enrolment_link_serves_the_ca_without_a_password(proxy: Proxy, tmp_path: Path) -> None:
    confdir = tmp_path / "confdir"
    ensure_ca(confdir)
    pem = (confdir / "mitmproxy-ca-cert.pem").read_bytes()
    proxy.tctx.configure(proxy.pages, confdir=str(confdir))
    link = signing.enrolment_link(
        tmp_path, "An's tablet"
    )  # what the dashboard shows, as a link and a QR code
    token = link.rsplit("/", 1)[1]
    page = serve(proxy, get(link)).response  # plain http: no CA on the device yet
    assert page.status_code == 200 and 'id="download-ca"' in page.text and "Android" in page.text
    assert 'id="ca-name">NotAlone<' in page.text
    ca = serve(proxy, get(f"http://{HOST}/enrol/{token}/notalone-ca.pem")).response
    assert ca.status_code == 200 and ca.content == pem and "attachment" in ca.headers["content-disposition"]
    for forged in ("forged", token[:-3] + "abc", signing.signer(tmp_path, "child-form").dumps({})):
        assert serve(proxy, get(f"http://{HOST}/enrol/{forged}/notalone-ca.pem")).response.status_code == 403
        assert serve(proxy, get(f"http://{HOST}/enrol/{forged}")).response.status_code == 403


# -- the addon alone, as mitmproxy's own onboarding addon is tested ------------------------------------------
def test_the_pages_addon_alone_answers_its_host_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTALONE_DATA_DIR", str(tmp_path))  # no NotAlone addon: no notalone_data_dir option
    pages = ChildPages()
    with taddons.context(pages) as tctx:
        tctx.configure(pages, confdir=str(tmp_path / "confdir"))
        assert pages.app.config["DATA_DIR"] == tmp_path
        about = tflow.tflow()
        about.request.url = f"https://{HOST}/about"
        asyncio.run(pages.request(about))
        assert about.response.status_code == 200 and about.metadata["notalone_answered"]
        elsewhere = tflow.tflow()
        elsewhere.request.url = "https://games.example/about"
        asyncio.run(pages.request(elsewhere))
        assert elsewhere.response is None

        tunnel = tflow.tflow()
        tunnel.request = http.Request.make("CONNECT", f"http://{HOST}:443/")
        tunnel.request.host, tunnel.request.port = HOST, 443
        pages.http_connect(tunnel)
        assert tunnel.response.status_code == 200  # answered here: the name resolves nowhere
        other = tflow.tflow()
        other.request.host = "games.example"
        pages.http_connect(other)
        assert other.response is None
