"""ClientAccess alone: who may use the proxy, and the box's own services refused through it."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from addon_fakes import Proxy, run_hook
from mitmproxy import http
from mitmproxy.test import tflow

from proxy_addon.client_access import BoxAddresses, ClientAccess

DASHBOARD_PORT = 8765
LISTEN_PORT = 8080  # taddons' default listen_port is None: the proxy's default port


def connect(proxy: Proxy, host: str, port: int, client: str = "127.0.0.1") -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request.method = "CONNECT"
    flow.request.host, flow.request.port = host, port
    flow.client_conn.peername = (client, 40000)
    proxy.http_connect(flow)
    return flow


def get(proxy: Proxy, url: str, client: str = "127.0.0.1") -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request.url = url
    flow.client_conn.peername = (client, 40000)
    proxy.request(flow)
    return flow


@pytest.fixture
def guarded(make_proxy: Callable[..., Proxy]) -> Proxy:
    return make_proxy(notalone_dashboard=f"192.168.1.5:{DASHBOARD_PORT}")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0", "::1", "127.8.9.10"])
@pytest.mark.parametrize("port", [DASHBOARD_PORT, LISTEN_PORT])
def test_the_dashboard_and_proxy_ports_on_the_box_are_refused_for_every_client(
    guarded: Proxy, host: str, port: int
) -> None:
    for client in ("127.0.0.1", "192.168.1.20"):
        flow = connect(guarded, host, port, client)
        assert flow.response is not None and flow.response.status_code == 403, (client, host, port)
        assert b"dashboard directly at http://192.168.1.5:8765/" in flow.response.content
        plain = get(guarded, f"http://{host if ':' not in host else f'[{host}]'}:{port}/login", client)
        assert plain.response is not None and plain.response.status_code == 403
    guarded.settle()
    assert guarded.store.counters()["refused.own_service"] == 4  # two clients, CONNECT and GET


def test_other_services_on_the_box_are_refused_only_for_clients_that_are_not_the_box(guarded: Proxy) -> None:
    assert connect(guarded, "127.0.0.1", 5432, client="127.0.0.1").response is None  # the box itself
    outsider = connect(guarded, "127.0.0.1", 5432, client="192.168.1.20")
    assert outsider.response is not None and outsider.response.status_code == 403
    assert get(guarded, "http://localhost:6379/", client="192.168.1.20").response.status_code == 403
    guarded.settle()
    assert guarded.store.counters()["refused.box"] == 2


def test_ordinary_destinations_and_notalones_own_hosts_pass(guarded: Proxy) -> None:
    for host, port in (("example.com", 443), ("192.168.1.77", 8765), ("mitm.it", 80)):
        assert connect(guarded, host, port, client="192.168.1.20").response is None


def test_a_refused_client_is_logged_once_per_address_and_not_as_a_failure(
    guarded: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="notalone")
    for address in ("203.0.113.9", "203.0.113.9", "203.0.113.9", "198.51.100.4"):
        client = tflow.tclient_conn()
        client.peername = (address, 40000)
        guarded.client_connected(client)
        assert client.error
    refused = [r.getMessage() for r in caplog.records if "refused a client" in r.getMessage()]
    assert len(refused) == 2
    assert "203.0.113.9" in refused[0] and "198.51.100.4" in refused[1]
    assert not any("failed" in r.getMessage() for r in caplog.records)
    guarded.settle()
    assert guarded.store.counters()["clients.refused"] == 4


def test_the_box_addresses() -> None:
    box = BoxAddresses()
    assert box.is_box("127.0.0.1") and box.is_box("::1") and box.is_box("0.0.0.0")
    assert box.is_box("::ffff:127.0.0.1")
    assert not box.is_box("192.0.2.1") and not box.is_box("not an address")
    assert box.names_box("LOCALHOST.") and box.names_box("app.localhost")
    assert not box.names_box("example.com")


def test_client_access_runs_first(guarded: Proxy) -> None:
    assert isinstance(guarded.addons[0], ClientAccess)


def server_connect(proxy: Proxy, host: str, port: int, client: str) -> object:
    from mitmproxy.proxy import server_hooks

    flow = tflow.tflow()
    flow.client_conn.peername = (client, 40000)
    server = tflow.tserver_conn()
    server.address = (host, port)
    data = server_hooks.ServerConnectionHookData(server=server, client=flow.client_conn)
    run_hook(proxy.addons, "server_connect", data)
    return server


def test_a_name_that_resolves_to_the_box_is_refused_at_connection_time(
    guarded: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's own DNS name pointed at the box (DNS rebinding) reaches neither the dashboard nor, from a
    device on the LAN, anything else on the box; the same name elsewhere connects."""
    access = guarded.addon(ClientAccess)

    async def resolve(host: str, port: int) -> list[str]:
        return {"rebind.example": ["127.0.0.1"], "shop.example": ["93.184.215.14"]}.get(host, [])

    monkeypatch.setattr(access, "_resolve", resolve)
    assert server_connect(guarded, "rebind.example", DASHBOARD_PORT, "127.0.0.1").error
    assert server_connect(guarded, "rebind.example", 5432, "192.168.1.20").error
    assert server_connect(guarded, "rebind.example", 5432, "127.0.0.1").error is None  # the box itself
    assert server_connect(guarded, "shop.example", 443, "192.168.1.20").error is None
    guarded.settle()
    counters = guarded.store.counters()
    assert (counters["refused.own_service"], counters["refused.box"]) == (1, 1)
