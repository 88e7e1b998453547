"""End to end through a real proxy: NotAlone's own pages are never scored, the box's own services are not
reachable through the proxy, and a parent's "False alarm" silences that site at once."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from proxy_harness import (
    CHILD,
    Origin,
    ProxyProcess,
    fetch,
    free_port,
    poll,
    serving_dashboard,
)

from alert_store import AlertStore
from proxy_addon.lifecycle import FALSE_ALARMS_KEY

pytestmark = pytest.mark.e2e


def setting(proxy: ProxyProcess, key: str) -> object:
    with proxy.store() as store:
        return store.settings().get(key)


def raw_connect(proxy: ProxyProcess, target: str) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as s:
        s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        return s.recv(4096)


def test_the_dashboard_and_the_proxy_are_not_reachable_through_the_proxy(
    child_proxy: Callable[..., ProxyProcess], tmp_path: Path
) -> None:
    dashboard_port = free_port()
    with serving_dashboard(tmp_path, dashboard_port) as dashboard:
        assert dashboard.endswith(str(dashboard_port))
        proxy = child_proxy(options={"notalone_dashboard": f"127.0.0.1:{dashboard_port}"})
        for target in (
            f"127.0.0.1:{dashboard_port}",
            f"localhost:{dashboard_port}",
            f"127.0.0.1:{proxy.port}",
        ):
            assert raw_connect(proxy, target).startswith(b"HTTP/1.1 403"), target
            answer = fetch(proxy, f"http://{target}/login")
            assert answer.status == 403 and answer.headers.get("x-notalone") == "refused", target
        assert b"open the dashboard directly" in fetch(proxy, f"http://127.0.0.1:{dashboard_port}/").body


def test_mitm_it_is_served_and_never_scored_in_warn_mode(
    child_proxy: Callable[..., ProxyProcess], origin: Origin
) -> None:
    proxy = child_proxy(mode="warn")
    page = fetch(proxy, "http://mitm.it/")
    assert page.status == 200 and b"notalone-interstitial" not in page.body
    scam = fetch(proxy, origin.http + "/win")  # after it, in the same queue: its alert shows both were seen
    assert b"notalone-interstitial" in scam.body
    alerts = proxy.wait_for_alerts(1)
    assert [a.url for a in alerts] == [origin.http + "/win"]


def test_a_false_alarm_silences_the_site_at_once_without_retraining(
    child_proxy: Callable[..., ProxyProcess], origin: Origin
) -> None:
    proxy = child_proxy(options={"notalone_refresh": "1"})
    assert fetch(proxy, origin.http + "/win").status == 200
    [alert] = proxy.wait_for_alerts(1)
    assert alert.child == CHILD
    with proxy.store() as store:
        assert store.mark_false_positive(alert.id)  # what the dashboard's "False alarm" button calls
    poll(lambda: setting(proxy, FALSE_ALARMS_KEY) == 1, 60, "the proxy took the false alarm in")

    fetch(proxy, origin.http + "/win?again=1")  # the same site: no alert
    other_site = origin.http.replace("127.0.0.1", "localhost")
    fetch(proxy, other_site + "/win")  # another site still alerts: queued after the page above
    alerts = proxy.wait_for_alerts(2)
    assert sorted(a.url for a in alerts) == sorted([origin.http + "/win", other_site + "/win"])
    with AlertStore(proxy.data_dir.database) as store:
        assert [(s.child, s.kind, s.value) for s in store.suppressions()] == [(CHILD, "site", "127.0.0.1")]
