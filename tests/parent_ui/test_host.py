"""The dashboard answers only Host names that are the box's, so a DNS-rebinding page cannot reach it."""

from __future__ import annotations

import socket

import pytest
from dashboard_helpers import PASSWORD, csrf_from

from alert_store import AlertStore
from parent_ui import create_app

FOREIGN = ("evil.example", "evil.example:8000", "rebind.attacker.test.", "203.0.113.9", "[2001:db8::1]:8000")


@pytest.mark.parametrize("host", FOREIGN)
def test_a_foreign_host_cannot_reach_setup_before_the_parent(fresh_app, data_dir, host):
    client = fresh_app.test_client()
    page = client.get("/setup", headers={"Host": host})
    assert page.status_code == 400 and 'name="password"' not in page.get_data(as_text=True)
    token = csrf_from(client.get("/setup").get_data(as_text=True))  # even with a token got the right way
    response = client.post(
        "/setup",
        headers={"Host": host},
        data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD, "children": "Eve"},
    )
    assert response.status_code == 400
    with AlertStore(data_dir / "notalone.db") as store:
        assert "auth.password_hash" not in store.settings() and store.children() == {}


@pytest.mark.parametrize("host", FOREIGN)
def test_a_foreign_host_gets_nothing_after_setup_either(app, client, auth, host):
    auth.login()
    assert client.get("/alerts/").status_code == 200
    assert client.get("/alerts/", headers={"Host": host}).status_code == 400
    assert client.get("/login", headers={"Host": host}).status_code == 400


def _box_hosts() -> list[str]:
    name = socket.gethostname()
    hosts = ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", name, f"{name}.local:8000"]
    try:  # the address the box has on its network, as a parent's phone would use it
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            hosts.append(f"{s.getsockname()[0]}:8000")
    except OSError:
        pass
    return hosts


@pytest.mark.parametrize("host", _box_hosts())
def test_the_boxs_own_addresses_and_names_are_answered(fresh_app, host):
    assert fresh_app.test_client().get("/setup", headers={"Host": host}).status_code == 200


def test_a_name_the_parent_configured_is_answered(data_dir):
    app = create_app({"TESTING": True, "DATA_DIR": str(data_dir), "HOST_NAMES": ("notalone.lan",)})
    client = app.test_client()
    assert client.get("/setup", headers={"Host": "NotAlone.lan:8000"}).status_code == 200
    assert client.get("/setup", headers={"Host": "other.lan"}).status_code == 400
