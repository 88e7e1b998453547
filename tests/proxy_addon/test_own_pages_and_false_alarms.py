"""NotAlone's own pages are never scored, in any mode; a parent's "False alarm" silences that site or that
conversation for that child at once (the store's suppressions, read on each settings refresh)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from addon_fakes import SCAM_PHRASE, Proxy
from mitmproxy import http
from mitmproxy.test import tflow

from proxy_addon.analysis import AlertGate

SCAM_HTML = f"<html><head><title>Win</title></head><body><p>Buy a {SCAM_PHRASE} and send the code.</p>"


def page(url: str, body: str = SCAM_HTML) -> http.HTTPFlow:
    flow = tflow.tflow(resp=True)
    flow.request.url = url
    flow.response.headers["content-type"] = "text/html; charset=utf-8"
    flow.response.content = body.encode()
    return flow


@pytest.mark.parametrize("mode", ["monitor", "warn", "block"])
@pytest.mark.parametrize(
    "url",
    [
        "http://mitm.it/",
        "http://mitm.it/cert/pem",
        "https://notalone.home.arpa/",
        "http://192.168.1.5:8765/alerts",
    ],
)
def test_notalones_own_pages_are_never_scored(make_proxy: Callable[..., Proxy], mode: str, url: str) -> None:
    proxy = make_proxy(notalone_mode=mode, notalone_dashboard="192.168.1.5:8765")
    flow = page(url)
    original = flow.response.raw_content
    proxy.response(flow)
    proxy.settle()
    assert proxy.model.calls == 0
    assert flow.response.raw_content == original
    assert proxy.store.count() == 0


def test_a_false_alarm_on_a_page_silences_that_site_for_that_child(make_proxy: Callable[..., Proxy]) -> None:
    proxy = make_proxy(notalone_mode="warn")
    proxy.store.add_child("Mai")
    proxy.store.assign_device("ip:127.0.0.1", "Mai")
    proxy.refresh()
    proxy.response(page("https://www.recipes.example/cake"))
    proxy.settle()
    [alert] = proxy.store.list()
    assert proxy.store.mark_false_positive(alert.id)
    proxy.refresh()  # as the settings refresh does every notalone_refresh seconds

    other_page = page("https://recipes.example/pie", SCAM_HTML + "<p>pie</p>")
    proxy.response(other_page)
    assert SCAM_PHRASE in other_page.response.get_text()  # not warned either
    proxy.response(page("https://elsewhere.example/cake"))  # another site still alerts
    proxy.settle()
    assert sorted(a.url for a in proxy.store.list()) == [
        "https://elsewhere.example/cake",
        "https://www.recipes.example/cake",
    ]
    [suppression] = proxy.store.suppressions()
    assert (suppression.child, suppression.kind, suppression.value) == ("Mai", "site", "recipes.example")


def test_a_false_alarm_on_a_chat_silences_that_conversation_only(proxy: Proxy) -> None:
    def incoming(url: str, text: str) -> http.HTTPFlow:
        flow = tflow.tflow(resp=True)
        flow.request.url = url
        flow.response.headers["content-type"] = "application/json"
        flow.response.content = json.dumps({"messages": [{"sender": "sam", "text": text}]}).encode()
        return flow

    coach = "https://chat.example/api/conversations/42/messages"
    proxy.response(incoming(coach, "the surprise party is our secret, ok?"))
    proxy.settle()
    [alert] = proxy.store.list()
    proxy.store.mark_false_positive(alert.id)
    proxy.refresh()
    proxy.state.analysis.gate = AlertGate()  # an hour later: the gate alone would alert again
    proxy.response(incoming(coach, "remember, our secret until saturday"))
    proxy.response(incoming("https://chat.example/api/conversations/77/messages", "this is our secret"))
    proxy.settle()
    assert sorted(a.conversation_key for a in proxy.store.list()) == [
        "chat.example/conversations/42",
        "chat.example/conversations/77",
    ]
