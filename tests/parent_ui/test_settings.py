"""The Settings page shows the settings in force and where they came from, and stores only what changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dashboard_helpers import form_fields

from alert_store import SettingKey
from notalone.config import PARENT_SETTINGS, load_config
from proxy_addon.access import HomeRanges
from proxy_addon.options import Settings

CONFIG_TOML = """
[proxy]
mode = "block"
home_ranges = ["192.168.1.0/24"]

[retention]
days = 7
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory whose config.toml blocks, allows one home range and keeps data for 7 days."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "config.toml").write_text(CONFIG_TOML, encoding="utf-8")
    return root


@pytest.fixture
def logged_in(client, auth):
    auth.login()
    return client


def _in_force(data_dir: Path, store):
    """What `notalone up` (and its hourly purge) would use: config.toml with the parent's stored choices."""
    config, problems = load_config(data_dir / "config.toml").with_parent_settings(store.settings())
    assert problems == []
    return config


def _proxy_in_force(store) -> Settings:
    """What the running proxy would use: its options (as `up` passes config.toml) with the stored choices."""
    options = Settings(
        data_dir=Path("unused"),
        mode="block",
        home_ranges=HomeRanges.from_specs(["192.168.1.0/24"]),
        retention_days=7,
    )
    settings, problems = options.with_parent_settings(store.settings())
    assert problems == []
    return settings


def test_an_unchanged_save_changes_nothing_in_force(logged_in, store, data_dir):
    page = logged_in.get("/settings/").get_data(as_text=True)
    fields = form_fields(page)
    assert fields["mode"] == "block"
    assert fields["allowed_clients"].split() == ["192.168.1.0/24"]
    assert fields["retention_days"] == "7"
    stored_before = store.settings()

    response = logged_in.post("/settings/", data=fields)

    assert response.status_code == 302
    assert store.settings() == stored_before
    config = _in_force(data_dir, store)
    assert (config.proxy.mode, config.proxy.home_ranges, config.retention.days) == (
        "block",
        ("192.168.1.0/24",),
        7,
    )
    proxy = _proxy_in_force(store)
    assert (proxy.mode, proxy.retention_days) == ("block", 7)
    assert proxy.home_ranges.allows("192.168.1.20") and not proxy.home_ranges.allows("100.64.0.5")
    assert not proxy.home_ranges.allows("10.0.0.5")


def test_the_page_says_where_each_value_comes_from(logged_in):
    page = logged_in.get("/settings/").get_data(as_text=True)
    assert page.count("In force now, from the settings file config.toml.") == 3  # mode, ranges, days
    assert "In force now, from NotAlone&#39;s default." in page  # ignored hosts, country


def test_a_save_stores_only_the_field_the_parent_changed(logged_in, store, data_dir):
    fields = form_fields(logged_in.get("/settings/").get_data(as_text=True))
    fields["retention_days"] = "14"

    assert logged_in.post("/settings/", data=fields).status_code == 302

    changed = {k: v for k, v in store.settings().items() if k in PARENT_SETTINGS and k != SettingKey.COUNTRY}
    assert changed == {SettingKey.RETENTION_DAYS: 14}
    config = _in_force(data_dir, store)
    assert (config.proxy.mode, config.retention.days) == ("block", 14)
    assert config.origin("retention.days") == "dashboard" and config.origin("proxy.mode") == "config.toml"
    page = logged_in.get("/settings/").get_data(as_text=True)
    assert "In force now, from your choice on this page." in page


def test_a_bad_value_is_refused_with_the_config_rule_and_nothing_is_saved(logged_in, store):
    fields = form_fields(logged_in.get("/settings/").get_data(as_text=True))
    stored_before = store.settings()
    fields |= {"mode": "block", "retention_days": "0", "allowed_clients": "192.168.1.0/24\nnot-a-range"}

    response = logged_in.post("/settings/", data=fields)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "not-a-range is not an address range" in page and "from 1 to 3650" in page
    assert store.settings() == stored_before


def test_first_run_stores_the_chosen_country(fresh_app, data_dir):
    from dashboard_helpers import PASSWORD, csrf_from

    from alert_store import AlertStore

    client = fresh_app.test_client()
    page = client.get("/setup").get_data(as_text=True)
    assert form_fields(page)["country"] == "VN"  # config.toml's (here the default), preselected
    response = client.post(
        "/setup",
        data={
            "csrf_token": csrf_from(page),
            "password": PASSWORD,
            "confirm": PASSWORD,
            "children": "An",
            "country": "AU",
            "child_line": "",
            "emergency": "",
        },
    )
    assert response.status_code == 302
    with AlertStore(data_dir / "notalone.db") as store:
        assert store.settings()[SettingKey.COUNTRY] == "AU"


@pytest.mark.parametrize(
    ("choice", "child_line", "emergency"),
    [
        ({"country": "GB"}, "0800 1111", "999"),
        ({"country": "other", "child_line": "116 000", "emergency": "112"}, "116 000", "112"),
    ],
)
def test_the_advice_names_the_chosen_countrys_numbers(logged_in, store, choice, child_line, emergency):
    from dashboard_helpers import make_alert

    fields = form_fields(logged_in.get("/settings/").get_data(as_text=True)) | choice
    assert logged_in.post("/settings/", data=fields).status_code == 302
    # An "online kidnapping" scam is one where the child may be in danger now: its advice names the police.
    scam = store.add(make_alert(kind="online_kidnapping", terms=("turn off your location",)))
    help_request = store.add(make_alert(category="help", source="child", terms=("photos",), snippet=""))

    scam_page = logged_in.get(f"/alerts/{scam}").get_data(as_text=True)
    help_page = logged_in.get(f"/alerts/{help_request}").get_data(as_text=True)

    assert f"call the police now ({emergency})" in scam_page
    assert f"If your child may be in danger now, call the police: {emergency}." in scam_page
    assert f"call {emergency} (police) or the child helpline {child_line} (free)" in help_page
    for page in (scam_page, help_page):
        assert re.search(r"(?<!\d)11[13](?!\d)", page) is None  # Vietnam's numbers are gone


def test_another_country_needs_both_numbers(logged_in, store):
    fields = form_fields(logged_in.get("/settings/").get_data(as_text=True))
    fields |= {"country": "other", "child_line": "", "emergency": "112"}
    response = logged_in.post("/settings/", data=fields)
    assert response.status_code == 400
    assert "enter its child helpline and its emergency number" in response.get_data(as_text=True)
    assert store.settings()[SettingKey.COUNTRY] == "VN"


def test_a_parent_can_take_a_choice_back_and_follow_the_file_again(logged_in, store, data_dir):
    from dashboard_helpers import csrf_from

    fields = form_fields(logged_in.get("/settings/").get_data(as_text=True)) | {"mode": "warn"}
    logged_in.post("/settings/", data=fields)
    page = logged_in.get("/settings/").get_data(as_text=True)
    assert _in_force(data_dir, store).proxy.mode == "warn"
    assert "Without your choice: block, from the settings file config.toml." in page

    response = logged_in.post("/settings/reset", data={"csrf_token": csrf_from(page), "key": "proxy.mode"})

    assert response.status_code == 302
    assert SettingKey.MODE not in store.settings()
    assert _in_force(data_dir, store).proxy.mode == "block"
    token = csrf_from(page)
    assert (
        logged_in.post("/settings/reset", data={"csrf_token": token, "key": "auth.password_hash"}).status_code
        == 400
    )
    assert "auth.password_hash" in store.settings()
