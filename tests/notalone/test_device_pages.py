"""The dashboard as `notalone dashboard` builds it: the device set-up pages name the box's network address
(never the address the parent typed), give a short-lived enrolment link and QR code, call the CA NotAlone,
and the banner says when the filter is not running."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from alert_store import AlertStore, DataDir, SettingKey
from alert_store.signing import CHILD_PAGES_HOST, check_enrolment, mint_enrolment
from notalone.commands.dashboard import build_app
from notalone.lan import lan_address

PASSWORD = "correct horse battery"
BASE = "http://127.0.0.1:8000"  # the parent opened the dashboard on the box itself
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ENROL_LINK = re.compile(r'href="(http://notalone\.home\.arpa/enrol/([^"]+))"')


def dashboard(root: Path, monkeypatch: pytest.MonkeyPatch, **environ: str) -> Flask:
    for name in ("NOTALONE_PROXY_LISTEN_HOST", "NOTALONE_PROXY_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    app = build_app(root)
    app.config["TESTING"] = True
    return app


def logged_in(app: Flask) -> FlaskClient:
    """A parent's browser on the box itself (http://127.0.0.1:8000), after first-run setup."""
    client = app.test_client()
    page = client.get("/setup", base_url=BASE).get_data(as_text=True)
    response = client.post(
        "/setup",
        base_url=BASE,
        data={
            "csrf_token": CSRF.search(page).group(1),
            "password": PASSWORD,
            "confirm": PASSWORD,
            "children": "Mai",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def root(tmp_path: Path) -> Path:
    from mitmproxy.certs import CertStore

    data_dir = DataDir(tmp_path / "data").ensure()
    # A CA named NotAlone, as the proxy makes it on its first start.
    CertStore.create_store(data_dir.confdir, "mitmproxy", 2048, organization="NotAlone", cn="NotAlone")
    return data_dir.root


def text_of(client: FlaskClient, path: str) -> str:
    response = client.get(path, base_url=BASE)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


def test_the_device_page_names_the_lan_address_not_the_one_the_parent_typed(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(dashboard(root, monkeypatch, NOTALONE_PROXY_LISTEN_HOST=""))
    for path in ("/setup-device/", "/setup-device/android"):
        page = text_of(client, path)
        assert lan_address() in page
        assert "127.0.0.1" not in page
    assert f"host name {lan_address()}, port 8080" in text_of(client, "/setup-device/android")


def test_the_address_up_printed_wins(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with AlertStore(DataDir(root).database) as store:
        store.set_setting(SettingKey.UP_STATUS, {"proxy": "192.168.1.20:8081"})
    client = logged_in(dashboard(root, monkeypatch, NOTALONE_PROXY_LISTEN_HOST=""))
    page = text_of(client, "/setup-device/windows")
    assert "enter address 192.168.1.20 and port 8081" in page


def test_a_loopback_proxy_is_said_to_be_unreachable(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = logged_in(dashboard(root, monkeypatch, NOTALONE_PROXY_LISTEN_HOST="127.0.0.1"))
    page = text_of(client, "/setup-device/ios")
    assert "a child's device cannot reach it" in page and "proxy.listen_host" in page


def test_the_enrolment_link_carries_a_short_lived_token_and_phones_get_a_qr_code(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(dashboard(root, monkeypatch))
    page = client.get("/setup-device/android", base_url=BASE).get_data(as_text=True)
    link = ENROL_LINK.search(page)
    assert link, "the page gives the enrolment link"
    assert check_enrolment(root, html.unescape(link.group(2))) is not None
    assert 'src="data:image/svg+xml' in page  # the QR code of that link
    assert "data:image/svg+xml" not in client.get("/setup-device/windows", base_url=BASE).get_data(
        as_text=True
    )


def test_tokens_expire_and_cannot_be_forged(root: Path, tmp_path: Path) -> None:
    token = mint_enrolment(root)
    assert check_enrolment(root, token) is not None
    assert check_enrolment(root, token, max_age_s=-1) is None
    assert check_enrolment(root, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    other = DataDir(tmp_path / "other").ensure().root
    assert check_enrolment(other, token) is None  # another box's secret
    assert CHILD_PAGES_HOST == "notalone.home.arpa"


@pytest.mark.parametrize("platform", ["windows", "macos", "ios", "android", "chromeos"])
def test_every_step_names_notalone_and_says_how_to_check(
    root: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    client = logged_in(dashboard(root, monkeypatch))
    page = text_of(client, f"/setup-device/{platform}")
    assert "mitmproxy" not in page.lower()
    assert "NotAlone certificate" in page
    assert "That device is protected" in page
    if platform in ("macos", "ios"):
        assert '"NotAlone"' in page  # the name the device shows for the CA


def test_the_banner_says_the_filter_is_not_running_and_why(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(dashboard(root, monkeypatch))
    assert "The filter is not running" not in text_of(client, "/alerts/")
    reason = "Port 8080 (proxy.port) is already in use; choose another port with --set proxy.port=8081."
    with AlertStore(DataDir(root).database) as store:
        store.set_setting(SettingKey.UP_STATUS, {"parts": {"proxy": {"running": False, "reason": reason}}})
    assert f"The filter is not running: {reason}" in text_of(client, "/alerts/")
