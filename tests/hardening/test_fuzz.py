"""Fuzzing what the addon reads: page text extraction, the chat-JSON finder, bounded inflation and the
response/request/WebSocket hooks themselves. Whatever the bytes, nothing raises out of a hook, the flow is
left as it came, and every skip or failure is counted."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import inspect
import json
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy import http
from mitmproxy.test import taddons, tflow
from mitmproxy.websocket import WebSocketMessage

from alert_store import AlertStore
from classifier.extract import extract_visible_text
from classifier.records import ChatMessage, Score
from proxy_addon import chat_text
from proxy_addon.addon import make_addons
from proxy_addon.inflate import InflateError, inflated_size_within
from proxy_addon.lifecycle import Lifecycle
from proxy_addon.options import Settings
from proxy_addon.scoring import InlineScoring

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_BODY = 64 * 1024
QUIET = Score(scam=0.01, grooming=0.01)

# -- strategies -------------------------------------------------------------------------------------------
TAGS = ("div", "p", "span", "script", "style", "title", "a", "table", "td", "svg", "template", "iframe", "b")


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    """Tag soup: unbalanced, misnested, with hostile attributes, comments, CDATA and stray bytes."""
    pieces = st.one_of(
        st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
        st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
        st.sampled_from(TAGS).map(lambda t: f'<{t} style="display:none" hidden onerror="x()">'),
        st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "<", ">", "&", "&#x0;", "&amp", "\x00", '"']),
        st.text(max_size=40),
    )
    return "".join(draw(st.lists(pieces, max_size=60)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)
CONTENT_TYPES = (
    "text/html",
    "text/html; charset=utf-8",
    "text/html; charset=latin-1",
    "text/html; charset=bogus-42",
    "text/html; charset=",
    "text/plain; charset=utf-16",
    "application/json",
    "application/json; charset=koi8-r",
    "application/x-www-form-urlencoded",
    'text/html; charset="utf-8"; boundary=;;',
    "",
)
ENCODINGS = ("", "gzip", "br", "deflate", "zstd", "identity", "gzip, br", "compress", "GZIP")


def encode(body: bytes, encoding: str) -> bytes:
    match encoding.lower():
        case "gzip":
            return gzip.compress(body)
        case "br":
            return brotli.compress(body)
        case "deflate":
            return zlib.compress(body)
        case "zstd":
            return zstandard.ZstdCompressor().compress(body)
        case _:
            return body


# -- pure functions --------------------------------------------------------------------------------------
@FUZZ
@given(html_soup())
def test_visible_text_extraction_never_raises_on_tag_soup(html: str) -> None:
    page = extract_visible_text(html)
    assert isinstance(page.text, str) and len(page.title) <= 300


def test_visible_text_of_deeply_nested_and_unclosed_markup() -> None:
    for html in (
        "<div>" * 50_000 + "deep words" + "</div>" * 50_000,
        "<b><i>" * 20_000 + "unclosed words",
        "<table><tr><td>" * 5_000 + "cells",
    ):
        assert extract_visible_text(html).text.endswith(("deep words", "unclosed words", "cells"))


@FUZZ
@given(json_values)
def test_chat_finder_handles_any_json_document(document: object) -> None:
    text = json.dumps(document)
    found = chat_text.strings_in_json_text(text)
    assert len(found) <= chat_text.MAX_MESSAGES
    assert all(chat_text.MIN_MESSAGE_CHARS <= len(s.text) <= chat_text.MAX_MESSAGE_CHARS for s in found)


@FUZZ
@given(st.text(max_size=500))
def test_chat_finder_never_raises_on_arbitrary_text(text: str) -> None:
    for found in (
        chat_text.strings_in_json_text(text),
        chat_text.message_text(text),
        chat_text.strings_in_urlencoded(text),
    ):
        assert isinstance(found, list) and len(found) <= chat_text.MAX_MESSAGES


def test_chat_finder_stops_at_its_depth_limit_and_refuses_a_json_bomb() -> None:
    nested: object = {"text": "a message buried very deep"}
    for _ in range(200):
        nested = {"inner": [nested]}
    assert chat_text.strings_in_json_text(json.dumps(nested)) == []  # beyond MAX_DEPTH: not walked
    wide = json.dumps([{"text": f"message number {i} here"} for i in range(50_000)])
    assert len(chat_text.strings_in_json_text(wide)) == chat_text.MAX_MESSAGES
    # Deeper than Python's recursion limit: json raises, the worker's fail-open boundary counts it.
    with pytest.raises(RecursionError):
        chat_text.strings_in_json_text("[" * 100_000 + "]" * 100_000)


@FUZZ
@given(
    st.binary(max_size=4096),
    st.sampled_from(["gzip", "br", "deflate", "zstd", ""]),
    st.integers(min_value=0, max_value=8192),
)
def test_inflated_size_is_measured_exactly(body: bytes, encoding: str, limit: int) -> None:
    assert inflated_size_within(encode(body, encoding), encoding, limit) == (len(body) <= limit)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from(["gzip", "br", "deflate", "zstd"]))
def test_garbage_that_claims_an_encoding_raises_only_inflate_error(garbage: bytes, encoding: str) -> None:
    with contextlib.suppress(InflateError):
        inflated_size_within(garbage, encoding, MAX_BODY)


def test_a_compression_bomb_is_measured_in_bounded_memory() -> None:
    for encoding in ("gzip", "br", "zstd", "deflate"):
        bomb = encode(b"\0" * (64 * 1024 * 1024), encoding)
        assert len(bomb) < 128 * 1024
        assert not inflated_size_within(bomb, encoding, 2 * 1024 * 1024)


# -- the hooks ---------------------------------------------------------------------------------------------
class KeywordModel:
    """A fast stand-in with the classifier's API: flags "gift card" pages and "our secret" chats."""

    version = "fuzz-1"

    def score_page(self, html: str, url: str = "") -> Score:
        extract_visible_text(html)  # the real extraction runs on every fuzzed page
        return Score(scam=0.9, grooming=0.0, alert="scam", severity="high") if "gift card" in html else QUIET

    def score_message(self, text: str) -> Score:
        return QUIET

    def score_conversation(self, messages: Sequence[ChatMessage]) -> Score:
        hit = any("our secret" in m.text for m in messages)
        return Score(scam=0.0, grooming=0.9, alert="grooming", severity="medium") if hit else QUIET


class Addons:
    """NotAlone's addon list driven hook by hook: every addon sees every hook, as in mitmproxy."""

    def __init__(self, addons: list[object]) -> None:
        self.addons = addons
        self.lifecycle = next(a for a in addons if isinstance(a, Lifecycle))

    @property
    def settings(self) -> Settings | None:
        return self.lifecycle.state.settings

    def _run(self, name: str, *args: object) -> None:
        for addon in self.addons:
            hook = getattr(addon, name, None)
            if hook is not None and inspect.iscoroutine(result := hook(*args)):
                asyncio.run(result)

    def response(self, flow: http.HTTPFlow) -> None:
        self._run("response", flow)

    def request(self, flow: http.HTTPFlow) -> None:
        self._run("request", flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        self._run("websocket_message", flow)

    def wait_idle(self, timeout: float) -> bool:
        return self.lifecycle.wait_idle(timeout)


@pytest.fixture(scope="module")
def addon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Addons]:
    data = tmp_path_factory.mktemp("fuzz-data")
    addons = make_addons(lambda settings: InlineScoring(KeywordModel))
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], notalone_data_dir=str(data), notalone_max_body=MAX_BODY)
        for a in addons:
            if hasattr(a, "running"):
                a.running()
        driver = Addons(addons)
        assert driver.wait_idle(30)
        yield driver
        driver.lifecycle.done()


def counters(addon: Addons) -> dict[str, int]:
    assert addon.settings is not None and addon.wait_idle(30)
    with AlertStore(Path(addon.settings.data_dir) / "notalone.db") as store:
        return store.counters()


def errors(addon: Addons) -> dict[str, int]:
    return {k: v for k, v in counters(addon).items() if k.startswith("errors.")}


@FUZZ
@given(
    body=st.binary(max_size=8192) | html_soup().map(str.encode),
    content_type=st.sampled_from(CONTENT_TYPES),
    encoding=st.sampled_from(ENCODINGS),
    status=st.sampled_from([200, 201, 204, 206, 301, 404, 500]),
)
def test_response_hook_leaves_any_response_untouched(
    addon: Addons, body: bytes, content_type: str, encoding: str, status: int
) -> None:
    flow = tflow.tflow(resp=True)
    flow.response.status_code = status
    flow.response.headers["content-type"] = content_type
    if encoding:
        flow.response.headers["content-encoding"] = encoding
    flow.response.raw_content = encode(body, encoding)
    before = (flow.response.status_code, flow.response.raw_content, flow.response.headers.fields)
    errors_before = errors(addon)
    addon.response(flow)
    assert (flow.response.status_code, flow.response.raw_content, flow.response.headers.fields) == before
    assert errors(addon) == errors_before  # a hostile body is skipped or read, never an error


@FUZZ
@given(
    body=st.binary(max_size=4096) | json_values.map(lambda v: json.dumps(v).encode()),
    content_type=st.sampled_from(CONTENT_TYPES),
    method=st.sampled_from(["POST", "PUT", "GET"]),
)
def test_request_hook_leaves_any_request_untouched(
    addon: Addons, body: bytes, content_type: str, method: str
) -> None:
    flow = tflow.tflow()
    flow.request.method = method
    flow.request.headers["content-type"] = content_type
    flow.request.raw_content = body
    before = (flow.request.method, flow.request.raw_content, flow.request.headers.fields)
    errors_before = errors(addon)
    addon.request(flow)
    assert flow.response is None
    assert (flow.request.method, flow.request.raw_content, flow.request.headers.fields) == before
    assert errors(addon) == errors_before


@FUZZ
@given(
    frames=st.lists(st.tuples(st.booleans(), st.booleans(), st.binary(max_size=512)), min_size=1, max_size=12)
)
def test_websocket_hook_takes_any_frames_and_keeps_only_the_newest(
    addon: Addons, frames: list[tuple[bool, bool, bytes]]
) -> None:
    flow = tflow.twebsocketflow(messages=False)
    assert flow.websocket is not None
    errors_before = errors(addon)
    for from_client, is_text, content in frames:
        message = WebSocketMessage(1 if is_text else 2, from_client, content)
        flow.websocket.messages.append(message)
        addon.websocket_message(flow)
        assert flow.websocket.messages == [message] and message.content == content
    assert errors(addon) == errors_before


def test_oversized_and_bomb_bodies_are_skipped_and_counted(addon: Addons) -> None:
    before = counters(addon)
    cases = [
        ("", b"<p>gift card</p>" * (MAX_BODY // 8)),  # over the raw limit
        ("gzip", gzip.compress(b"<p>gift card</p>" * (MAX_BODY // 4))),  # small on the wire, inflates past it
        ("br", b"\x8b\x00\x80not brotli at all"),  # claims brotli, is not
    ]
    for encoding, raw in cases:
        flow = tflow.tflow(resp=True)
        flow.response.headers["content-type"] = "text/html"
        if encoding:
            flow.response.headers["content-encoding"] = encoding
        flow.response.raw_content = raw
        addon.response(flow)
        assert flow.response.raw_content == raw
    after = counters(addon)
    for name in ("skipped.too_big", "skipped.inflates_too_big", "skipped.undecodable"):
        assert after.get(name, 0) == before.get(name, 0) + 1, name


def test_deeply_nested_html_passes_untouched_and_is_still_read(addon: Addons) -> None:
    """Markup nested too deep for the parser is read flat by the classifier: padding a scam page with
    thousands of unclosed tags neither stalls the proxy nor hides the page."""
    flow = tflow.tflow(resp=True)
    flow.response.headers["content-type"] = "text/html"
    flow.response.raw_content = b"<i>" * 21_000 + b"buy a gift card"
    addon.response(flow)
    assert flow.response.raw_content == b"<i>" * 21_000 + b"buy a gift card"
    assert addon.wait_idle(30)


def test_deep_json_is_an_error_counted_at_the_fail_open_boundary(addon: Addons) -> None:
    flow = tflow.tflow(resp=True)
    flow.response.headers["content-type"] = "application/json"
    flow.response.raw_content = b"[" * 30_000 + b"]" * 30_000
    before = counters(addon).get("errors.chat", 0)
    addon.response(flow)
    assert counters(addon).get("errors.chat", 0) == before + 1
    assert flow.response.raw_content == b"[" * 30_000 + b"]" * 30_000


def test_the_response_is_never_replaced_in_monitor_mode(addon: Addons) -> None:
    flow = tflow.tflow(resp=True)
    flow.response = http.Response.make(200, b"<p>buy a gift card now</p>", {"content-type": "text/html"})
    original = flow.response
    addon.response(flow)
    assert flow.response is original and flow.response.content == b"<p>buy a gift card now</p>"
