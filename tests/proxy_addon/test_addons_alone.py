"""Each addon alone in a mitmproxy test context, over a ProxyState made by hand: what it queues, writes or
answers, with nothing else of the proxy around it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from addon_fakes import SCAM_PHRASE, FakeModel
from mitmproxy import http
from mitmproxy.test import taddons, tflow

from proxy_addon.blind_spots import BlindSpots
from proxy_addon.capture import Capture
from proxy_addon.child_pages import ChildPages
from proxy_addon.guard import Guard
from proxy_addon.options import Settings
from proxy_addon.scoring import InlineScoring
from proxy_addon.state import ProxyState

SCAM_HTML = f"<html><head><title>Win</title></head><body><p>Buy a {SCAM_PHRASE}, send the code.</p></body>"


class RecordingWorker:
    """Stands in for the worker thread: keeps what the addon queued, by kind."""

    def __init__(self) -> None:
        self.jobs: list[str] = []
        self.writes: list[str] = []

    def submit_job(self, kind: str, task: Callable[[Any], None]) -> None:
        self.jobs.append(kind)

    def submit_write(self, kind: str, task: Callable[[Any], None]) -> None:
        self.writes.append(kind)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ProxyState]:
    state = ProxyState(settings=Settings(data_dir=tmp_path))
    state.worker = RecordingWorker()  # type: ignore[assignment]
    yield state
    if state.scoring is not None:
        state.scoring.close()


def page(body: str, content_type: str = "text/html; charset=utf-8") -> http.HTTPFlow:
    flow = tflow.tflow(resp=True)
    flow.request.url = "https://shop.example/win"
    flow.response.headers["content-type"] = content_type
    flow.response.content = body.encode()
    return flow


def test_capture_only_queues_and_leaves_the_response_alone(state: ProxyState) -> None:
    capture = Capture(state)
    with taddons.context(capture):
        flows = [page(SCAM_HTML), page("x", "image/png"), page('{"text": "hi"}', "application/json")]
        before = [f.response.raw_content for f in flows]
        for flow in flows:
            capture.response(flow)
        assert [f.response.raw_content for f in flows] == before
    assert state.worker.jobs == ["page", "chat"]  # type: ignore[union-attr]
    assert state.scoring is None  # nothing scored on the hook


def test_blind_spots_alone_records_a_doh_lookup(state: ProxyState) -> None:
    blind = BlindSpots(state)
    with taddons.context(blind):
        flow = tflow.tflow()
        flow.request.url = "https://dns.google/dns-query?dns=AAABAAAB"
        blind.request(flow)
    assert "blind_spot" in state.worker.writes  # type: ignore[union-attr]


def test_guard_alone_warns_a_scam_page_and_leaves_others(state: ProxyState, tmp_path: Path) -> None:
    state.settings = Settings(data_dir=tmp_path, mode="warn")
    state.scoring = InlineScoring(FakeModel)
    state.scoring.start()
    pages = ChildPages(identify=state.identify)
    guard = Guard(state, pages)
    with taddons.context(guard, pages):
        scam, ordinary = page(SCAM_HTML), page("<p>Photosynthesis turns light into sugar.</p>")
        asyncio.run(guard.response(scam))
        asyncio.run(guard.response(ordinary))
    assert scam.response.status_code == 303 and scam.response.headers["x-notalone"] == "warn"
    assert scam.response.headers["location"].startswith("https://notalone.home.arpa/warning/")
    assert "send the code" not in scam.response.text  # nothing of the page, nor of the warning
    assert ordinary.response.text == "<p>Photosynthesis turns light into sugar.</p>"
    assert state.worker.writes.count("alert") == 1  # type: ignore[union-attr]


def test_guard_alone_passes_the_page_when_scoring_is_off(state: ProxyState, tmp_path: Path) -> None:
    state.settings = Settings(data_dir=tmp_path, mode="block")
    guard = Guard(state, ChildPages(identify=state.identify))
    with taddons.context(guard):
        flow = page(SCAM_HTML)
        asyncio.run(guard.response(flow))
    assert SCAM_PHRASE in flow.response.text
