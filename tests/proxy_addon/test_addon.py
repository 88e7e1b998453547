"""The addon's hooks driven with crafted flows; every assertion is on the store or on the flow."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from addon_fakes import FakeModel, Proxy, RaisingModel
from child_pages_helpers import action, field, open_warning, post, serve
from mitmproxy import exceptions, http
from mitmproxy.proxy import context as proxy_context
from mitmproxy.proxy import mode_specs
from mitmproxy.test import taddons, tflow
from mitmproxy.tls import TlsData
from mitmproxy.websocket import WebSocketMessage

from alert_store import SettingKey
from proxy_addon import addon as addon_module
from proxy_addon import capture, scoring

SCAM_HTML = (
    "<html><head><title>You won!</title></head><body><p>Congratulations! Claim your prize now: "
    "buy a gift card and send us the code to unlock your reward.</p></body></html>"
)
BENIGN_HTML = "<html><head><title>Homework</title></head><body><p>Photosynthesis turns light into sugar.</p>"


def page_flow(
    body: str | bytes,
    *,
    content_type: str = "text/html; charset=utf-8",
    url: str = "https://shop.example/win?token=s3cret",
    **request_headers: str,
) -> http.HTTPFlow:
    flow = tflow.tflow(resp=True)
    flow.request.url = url
    for name, value in request_headers.items():
        flow.request.headers[name.replace("_", "-")] = value
    flow.response.headers["content-type"] = content_type
    flow.response.content = body.encode() if isinstance(body, str) else body
    return flow


def json_flow(payload: object, *, url: str, direction: str) -> http.HTTPFlow:
    flow = tflow.tflow(resp=direction == "incoming")
    flow.request.url = url
    body = json.dumps(payload).encode()
    if direction == "outgoing":
        flow.request.method = "POST"
        flow.request.headers["content-type"] = "application/json"
        flow.request.content = body
    else:
        flow.response.headers["content-type"] = "application/json"
        flow.response.content = body
    return flow


# -- monitor mode: pages --------------------------------------------------------------------------------
def test_scam_page_in_monitor_mode_is_alerted_and_passes_unchanged(proxy: Proxy) -> None:
    flow = page_flow(SCAM_HTML)
    original = flow.response.raw_content
    proxy.response(flow)
    assert flow.response.raw_content == original  # untouched, at once
    proxy.settle()
    [alert] = proxy.store.list()
    assert alert.category == "scam"
    assert alert.child == "unassigned"
    assert alert.device == "ip:127.0.0.1"
    assert alert.url == "https://shop.example/win"  # the query (a token) is dropped
    assert alert.direction == "incoming"
    assert "gift card" in alert.snippet and len(alert.snippet) <= 500
    assert alert.terms == ("gift card",)
    assert alert.title == "You won!"
    assert alert.model_version == "test-1"


def test_benign_page_makes_no_alert(proxy: Proxy) -> None:
    proxy.response(page_flow(BENIGN_HTML))
    proxy.settle()
    assert proxy.store.count() == 0
    assert proxy.model.calls == 1


def test_same_page_is_scored_once_and_alerted_once(proxy: Proxy) -> None:
    for _ in range(3):
        proxy.response(page_flow(SCAM_HTML))
    proxy.settle()
    assert proxy.model.calls == 1
    assert proxy.store.count() == 1


def test_known_content_on_a_new_address_is_alerted_without_scoring_again(proxy: Proxy) -> None:
    """A scam kit on fresh URLs: the content is scored once; each new address still gets its alert,
    written from the cache without queueing the page for scoring."""
    proxy.response(page_flow(SCAM_HTML, url="https://a.example/claim"))
    proxy.settle()
    for host in ("b.example", "c.example"):
        proxy.response(page_flow(SCAM_HTML, url=f"https://{host}/claim"))
    proxy.settle()
    assert proxy.model.calls == 1
    assert sorted(a.url for a in proxy.store.list()) == [
        "https://a.example/claim",
        "https://b.example/claim",
        "https://c.example/claim",
    ]


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", "text/css", "video/mp4"])
def test_non_text_content_is_skipped(proxy: Proxy, content_type: str) -> None:
    proxy.response(page_flow(SCAM_HTML, content_type=content_type))
    proxy.settle()
    assert proxy.model.calls == 0


def test_body_over_the_size_limit_is_skipped(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_max_body=1000)
    proxy.response(page_flow(SCAM_HTML + " " * 2000))
    proxy.settle()
    assert proxy.model.calls == 0


def test_dashboard_traffic_is_never_read(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_dashboard="127.0.0.1:8765")
    proxy.response(page_flow(SCAM_HTML, url="http://127.0.0.1:8765/alerts"))
    proxy.settle()
    assert proxy.model.calls == 0


def test_hosts_the_parent_ignores_are_skipped(proxy: Proxy) -> None:
    proxy.store.set_setting(SettingKey.IGNORE_HOSTS, ["example"])
    proxy.refresh()
    proxy.response(page_flow(SCAM_HTML, url="https://shop.example/"))
    proxy.settle()
    assert proxy.model.calls == 0


def test_plain_text_pages_are_scored(proxy: Proxy) -> None:
    proxy.response(page_flow("Send a gift card code to claim it", content_type="text/plain"))
    proxy.settle()
    assert [a.category for a in proxy.store.list()] == ["scam"]


def test_a_page_seen_again_is_decided_from_its_recent_score_not_scored_again(proxy: Proxy) -> None:
    """A burst of visits to a page scored moments ago queues no scoring job (a full queue would drop
    work), yet a second child who opens the same scam page still gets their own alert."""
    proxy.store.add_child("An")
    proxy.store.add_child("Binh")
    proxy.refresh()
    ordinary = "<p>Photosynthesis turns light into sugar.</p>"
    for _ in range(3):
        proxy.response(page_flow(ordinary, url="https://school.example/biology"))
        proxy.settle()
    assert proxy.model.calls == 1
    for child in ("An", "Binh"):
        flow = page_flow(SCAM_HTML)
        flow.metadata["proxyauth"] = (child, "pw")
        proxy.response(flow)
        proxy.settle()
    assert proxy.model.calls == 2  # the scam page was scored once
    assert sorted(a.child for a in proxy.store.list()) == ["An", "Binh"]
    changed = page_flow(SCAM_HTML.replace("gift card", "gift card today"))
    proxy.response(changed)  # the same address with other content is scored afresh
    proxy.settle()
    assert proxy.model.calls == 3


# -- children and devices --------------------------------------------------------------------------
def test_assigned_device_alerts_under_the_childs_name(proxy: Proxy) -> None:
    proxy.store.assign_device("ip:127.0.0.1", "Mai")
    proxy.refresh()
    proxy.response(page_flow(SCAM_HTML))
    proxy.settle()
    assert [a.child for a in proxy.store.list()] == ["Mai"]
    assert proxy.store.device("ip:127.0.0.1").last_seen > 0


def test_proxy_auth_user_named_like_a_child_is_that_child(proxy: Proxy) -> None:
    proxy.store.add_child("An")
    proxy.refresh()
    flow = page_flow(SCAM_HTML)
    flow.metadata["proxyauth"] = ("An", "pw")
    proxy.response(flow)
    proxy.settle()
    [alert] = proxy.store.list()
    assert (alert.child, alert.device) == ("An", "user:An")
    assert proxy.store.device("user:An") is not None


def test_wireguard_peer_is_its_own_device(proxy: Proxy) -> None:
    flow = page_flow(SCAM_HTML)
    flow.client_conn.proxy_mode = mode_specs.ProxyMode.parse("wireguard")
    flow.client_conn.peername = ("10.0.0.3", 51820)
    proxy.response(flow)
    proxy.settle()
    assert [a.device for a in proxy.store.list()] == ["wg:10.0.0.3"]


# -- access control and blind spots ----------------------------------------------------------------
def test_clients_outside_the_home_ranges_are_refused(proxy: Proxy) -> None:
    outsider = tflow.tclient_conn()
    outsider.peername = ("203.0.113.9", 40000)
    insider = tflow.tclient_conn()
    insider.peername = ("192.168.1.20", 40000)
    proxy.client_connected(outsider)
    proxy.client_connected(insider)
    proxy.settle()
    assert outsider.error and "203.0.113.9" in outsider.error
    assert insider.error is None
    assert proxy.store.counters()["clients.refused"] == 1
    assert proxy.store.device("ip:192.168.1.20") is not None


def test_parent_can_change_the_allowed_ranges(proxy: Proxy) -> None:
    proxy.store.set_setting(SettingKey.ALLOWED_CLIENTS, ["192.168.7.0/24"])
    proxy.refresh()
    client = tflow.tclient_conn()
    client.peername = ("192.168.1.20", 40000)
    proxy.client_connected(client)
    assert client.error


def test_refused_tls_handshake_is_a_blind_spot(proxy: Proxy) -> None:
    client = tflow.tclient_conn()
    client.sni = "pinned.example"
    data = TlsData(conn=client, context=proxy_context.Context(client, proxy.tctx.options))
    proxy.tls_failed_client(data)
    proxy.tls_failed_client(data)
    proxy.settle()
    [spot] = proxy.store.blind_spots()
    assert (spot.kind, spot.host, spot.device) == ("tls_failed", "pinned.example", "ip:127.0.0.1")
    assert spot.count == 2


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("https://dns.google/dns-query?dns=AAABAAAB", {}),
        ("https://cloudflare-dns.com/dns-query", {"content_type": "application/dns-message"}),
        ("https://resolver.example/anything", {"accept": "application/dns-message"}),
    ],
)
def test_dns_over_https_is_a_blind_spot(proxy: Proxy, url: str, headers: dict[str, str]) -> None:
    flow = tflow.tflow()
    flow.request.url = url
    for name, value in headers.items():
        flow.request.headers[name.replace("_", "-")] = value
    proxy.request(flow)
    proxy.settle()
    assert [s.kind for s in proxy.store.blind_spots()] == ["doh"]


# -- chat and grooming -----------------------------------------------------------------------------
def test_json_chat_both_ways_forms_one_conversation(proxy: Proxy) -> None:
    url = "https://chat.example/api/conversations/42/messages"
    proxy.response(
        json_flow(
            {
                "messages": [
                    {
                        "id": "m1",
                        "sender": "sam",
                        "text": "hey how was school today",
                        "sent_at": "2026-11-23T10:00:00Z",
                        "avatar": "https://cdn.example/a.png",
                    }
                ]
            },
            url=url,
            direction="incoming",
        )
    )
    proxy.request(json_flow({"text": "it was fine, we had art"}, url=url, direction="outgoing"))
    proxy.response(
        json_flow(
            {
                "messages": [
                    {"id": "m3", "sender": "sam", "text": "this is our secret ok, don't tell your mum"}
                ]
            },
            url=url,
            direction="incoming",
        )
    )
    proxy.settle()
    turns = proxy.store.conversation("chat.example/conversations/42")
    assert [(t.direction, t.text) for t in turns] == [
        ("incoming", "hey how was school today"),
        ("outgoing", "it was fine, we had art"),
        ("incoming", "this is our secret ok, don't tell your mum"),
    ]
    [alert] = proxy.store.list()
    assert alert.category == "grooming"
    assert alert.stages == ("secrecy",)
    assert alert.app == "chat.example"
    assert alert.conversation_key == "chat.example/conversations/42"
    assert "our secret" in alert.snippet


def test_chat_history_resent_by_the_app_is_not_appended_twice(proxy: Proxy) -> None:
    url = "https://chat.example/api/threads/7"
    payload = {"items": [{"author": "kim", "body": "want to play minecraft later"}]}
    for _ in range(3):
        proxy.response(json_flow(payload, url=url, direction="incoming"))
    proxy.settle()
    assert len(proxy.store.conversation("chat.example/threads/7")) == 1


def test_conversation_id_in_the_payload_keys_the_conversation(proxy: Proxy) -> None:
    proxy.request(
        json_flow(
            {"conversation_id": "c-9", "message": "see you at practice"},
            url="https://im.example/send",
            direction="outgoing",
        )
    )
    proxy.settle()
    assert [t.text for t in proxy.store.conversation("im.example#c-9")] == ["see you at practice"]


def test_form_posts_are_the_childs_own_turns(proxy: Proxy) -> None:
    flow = tflow.tflow()
    flow.request.url = "https://forum.example/chat/room1/post"
    flow.request.method = "POST"
    flow.request.urlencoded_form = [("csrf", "a8f9e0c1d2b3a4f5e6d7"), ("msg", "i will keep our secret")]
    proxy.request(flow)
    proxy.settle()
    [turn] = proxy.store.conversation("forum.example/chat/room1")
    assert (turn.direction, turn.text) == ("outgoing", "i will keep our secret")
    assert [a.direction for a in proxy.store.list()] == ["outgoing"]


def test_websocket_messages_both_ways_are_scored_as_a_conversation(proxy: Proxy) -> None:
    flow = tflow.twebsocketflow(messages=False)
    flow.request.url = "https://game.example/ws/dm/u-77"
    frames = [
        (False, json.dumps({"type": "msg", "from": "pro_gamer", "text": "you are so mature for your age"})),
        (True, json.dumps({"type": "msg", "text": "thanks lol"})),
        (False, "keep this our secret, delete the chat"),
    ]
    for from_client, text in frames:
        flow.websocket.messages.append(WebSocketMessage(1, from_client, text.encode()))
        proxy.websocket_message(flow)
    flow.websocket.messages.append(WebSocketMessage(2, False, b"\x00\x01binary"))
    proxy.websocket_message(flow)
    proxy.settle()
    turns = proxy.store.conversation("game.example/dm/u-77")
    assert [(t.direction, t.sender) for t in turns] == [
        ("incoming", "pro_gamer"),
        ("outgoing", "child"),
        ("incoming", "other"),
    ]
    [alert] = proxy.store.list()
    assert (alert.category, alert.direction) == ("grooming", "incoming")


# -- fail open -------------------------------------------------------------------------------------
def test_scoring_errors_leave_the_flow_untouched_and_are_counted(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(RaisingModel())
    flow = page_flow(SCAM_HTML)
    original = flow.response.raw_content
    proxy.response(flow)
    proxy.response(page_flow(SCAM_HTML + "<p>again</p>"))
    proxy.settle()
    assert flow.response.raw_content == original
    assert proxy.store.counters()["errors.page"] == 2
    assert proxy.store.count() == 0


def test_errors_in_a_hook_are_swallowed_and_counted(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(content_type: str) -> str:
        raise ValueError("broken extraction")

    monkeypatch.setattr(capture, "content_kind", explode)
    flow = page_flow(SCAM_HTML)
    proxy.response(flow)
    proxy.settle()
    assert flow.response.status_code == 200
    assert proxy.store.counters()["errors.response"] == 1


def test_warn_mode_scoring_error_delivers_the_page(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(RaisingModel(), notalone_mode="warn")
    flow = page_flow(SCAM_HTML)
    original = flow.response.raw_content
    proxy.response(flow)
    proxy.settle()
    assert flow.response.raw_content == original
    assert proxy.store.counters()["errors.guard"] == 1


def test_missing_model_turns_scoring_off_and_traffic_still_passes(make_proxy: Callable[..., Proxy]) -> None:
    def no_model() -> FakeModel:
        raise scoring.ScoringUnavailable("the model could not be loaded: models/ is empty")

    proxy = make_proxy(load_model=no_model)
    status = proxy.store.settings()["status.proxy"]
    assert status["scoring"] == "off" and "models/ is empty" in status["reason"]
    flow = page_flow(SCAM_HTML)
    proxy.response(flow)
    proxy.settle()
    assert b"gift card" in flow.response.content
    assert proxy.store.count() == 0


def test_status_reports_scoring_on(proxy: Proxy) -> None:
    status = proxy.store.settings()["status.proxy"]
    assert (status["scoring"], status["model_version"], status["mode"]) == ("on", "test-1", "monitor")


# -- warn and block --------------------------------------------------------------------------------
def test_warn_mode_shows_the_interstitial_and_continue_lets_the_page_through(
    make_proxy: Callable[..., Proxy],
) -> None:
    proxy = make_proxy(notalone_mode="warn")
    url = "https://shop.example/win"
    flow = page_flow(SCAM_HTML, url=url)
    proxy.response(flow)
    assert flow.response.status_code == 303 and b"gift card" not in flow.response.content
    page = open_warning(proxy, flow)
    assert 'id="notalone-interstitial"' in page and 'id="continue-anyway"' in page
    assert "send us the code" not in page

    click = serve(proxy, post(action(page, "continue-anyway"), {"token": field(page, "token")}))
    assert click.response.status_code == 200 and url in click.response.text

    again = page_flow(SCAM_HTML, url=url)
    proxy.response(again)
    assert "gift card" in again.response.get_text()
    proxy.settle()
    assert proxy.store.counters()["interstitial.continued"] == 1
    assert [a.category for a in proxy.store.list()] == ["scam"]


def test_block_mode_has_no_continue_and_go_back_is_recorded(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="block")
    flow = page_flow(SCAM_HTML)
    proxy.response(flow)
    page = open_warning(proxy, flow)
    assert "continue-anyway" not in page and 'id="go-back"' in page
    click = serve(proxy, post(action(page, "go-back"), {"token": field(page, "token")}))
    assert click.response.status_code == 200
    proxy.settle()
    assert proxy.store.counters()["interstitial.went_back"] == 1
    assert proxy.store.counters()["interstitial.block.shown"] == 1


def test_interstitial_speaks_vietnamese_for_vietnamese_pages(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    flow = page_flow(SCAM_HTML.replace("<html>", '<html lang="vi">'))
    proxy.response(flow)
    assert "Quay lại an toàn" in open_warning(proxy, flow)


def test_interstitial_follows_the_browsers_language(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="block")
    flow = page_flow(SCAM_HTML)
    proxy.response(flow)
    assert '<html lang="vi">' in open_warning(proxy, flow, {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"})


def test_parent_setting_switches_mode_at_run_time(proxy: Proxy) -> None:
    proxy.store.set_setting(SettingKey.MODE, "block")
    proxy.refresh()
    flow = page_flow(SCAM_HTML)
    proxy.response(flow)
    assert "notalone-interstitial" in open_warning(proxy, flow)
    assert proxy.store.settings()["status.proxy"]["mode"] == "block"


def test_the_proxy_purges_by_the_configured_retention(make_proxy: Callable[..., Proxy]) -> None:
    """`notalone up` passes retention.days (say config.toml's 90) as notalone_retention_days: the proxy's
    own hourly purge must not fall back to 30 days and delete what the parent meant to keep."""
    import time

    from alert_store import Alert
    from proxy_addon.retention import RetentionPurge

    proxy = make_proxy(notalone_retention_days=90)
    kept = proxy.store.add(
        Alert(
            child="An",
            category="scam",
            severity="high",
            probability=0.9,
            snippet="x",
            created_at=time.time() - 45 * 86400,
        )
    )
    proxy.lifecycle.retention = RetentionPurge()  # due at once
    proxy.refresh()
    assert proxy.state.settings.retention_days == 90
    assert proxy.store.get(kept) is not None


# -- options ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("notalone_mode", "panic"),
        ("notalone_max_body", 0),
        ("notalone_home_ranges", ["192.168.1.0/33"]),
        ("notalone_default_child", " "),
    ],
)
def test_bad_options_are_refused(proxy: Proxy, option: str, value: object) -> None:
    with pytest.raises(exceptions.OptionsError, match=option):
        proxy.tctx.configure(proxy.addons[0], **{option: value})


def test_full_queue_drops_the_oldest_job_and_counts_it(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(FakeModel(), notalone_queue_size=2)
    worker = proxy.state.worker
    assert worker is not None
    ran: list[int] = []
    import threading

    gate = threading.Event()
    worker.submit_job("block", lambda s: gate.wait(20))
    while worker.jobs:  # wait until the worker holds the blocking job
        pass
    for i in range(5):
        worker.submit_job("page", lambda s, i=i: ran.append(i))
    gate.set()
    proxy.settle()
    assert ran == [3, 4]
    assert proxy.store.counters()["queue.dropped"] == 3


def test_addon_file_loads_as_a_mitmproxy_script() -> None:
    with taddons.context() as tctx:
        script = tctx.script(addon_module.__file__)
        assert [type(a).__name__ for a in script.addons] == [
            "ClientAccess",
            "Lifecycle",
            "ChildPages",
            "BlindSpots",
            "Capture",
            "Guard",
        ]
