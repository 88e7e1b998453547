"""Test doubles and helpers for the addon's unit tests (the fixtures are in conftest.py).

The model is a small stand-in with the classifier's API (classifier/API.md), so that these tests pin the
addon's behaviour, not the trained model's thresholds; the end-to-end tests use the real model.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mitmproxy import http
from mitmproxy.test import taddons

from alert_store import AlertStore
from classifier.decision import Thresholds
from classifier.records import ChatMessage, Score
from proxy_addon.child_pages import ChildPages
from proxy_addon.lifecycle import Lifecycle
from proxy_addon.state import ProxyState

T = TypeVar("T")

SCAM_PHRASE = "gift card"
GROOMING_PHRASE = "our secret"


class FakeModel:
    """Flags "gift card" as a scam and "our secret" in a conversation as grooming; counts its calls."""

    version = "test-1"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def _score(self, text: str, title: str = "") -> Score:
        if SCAM_PHRASE in text.lower():
            at = text.lower().index(SCAM_PHRASE)
            return Score(
                scam=0.97,
                grooming=0.01,
                alert="scam",
                severity="high",
                evidence=(SCAM_PHRASE,),
                snippet=text[max(0, at - 100) : at + 100],
                lang="en",
                title=title,
            )
        return Score(scam=0.02, grooming=0.01, lang="en", title=title)

    def with_url_reputation(self, score: Score, url: str) -> Score:
        return score  # no blocklist in the fake: every address is unknown

    def score_page(self, html: str, url: str = "") -> Score:
        self._count()
        title = html.split("<title>", 1)[1].split("</title>", 1)[0] if "<title>" in html else ""
        return self._score(html, title)

    def score_message(self, text: str) -> Score:
        self._count()
        return self._score(text)

    def score_conversation(self, messages: Sequence[ChatMessage]) -> Score:
        self._count()
        for m in messages:
            if GROOMING_PHRASE in m.text.lower():
                return Score(
                    scam=0.05,
                    grooming=0.91,
                    alert="grooming",
                    severity="medium",
                    evidence=(GROOMING_PHRASE,),
                    snippet=m.text,
                    stages=("secrecy",),
                )
        return Score(scam=0.01, grooming=0.02)


class RetrainedFakeModel(FakeModel):
    """The stand-in after a retraining: a new version with thresholds of its own."""

    version = "test-2"

    def __init__(self) -> None:
        super().__init__()
        self.thresholds = {"scam": Thresholds(alert=0.6, medium=0.8, high=0.95)}


class RaisingModel(FakeModel):
    def score_page(self, html: str, url: str = "") -> Score:
        raise RuntimeError("model exploded")

    def score_conversation(self, messages: Sequence[ChatMessage]) -> Score:
        raise RuntimeError("model exploded")


def walk(addons: Sequence[object]) -> list[object]:
    """The addons and their sub-addons, in mitmproxy's order (an addon, then its ``addons``)."""
    out: list[object] = []
    for addon in addons:
        out.append(addon)
        out.extend(walk(getattr(addon, "addons", [])))
    return out


def run_hook(addons: Sequence[object], name: str, *args: object) -> None:
    """Call hook ``name`` on every addon as mitmproxy does, awaiting the async ones; stop at a response
    only where mitmproxy would (it does not: every addon sees every hook)."""
    for addon in walk(addons):
        hook = getattr(addon, name, None)
        if hook is None:
            continue
        result = hook(*args)
        if inspect.iscoroutine(result):
            asyncio.run(result)


@dataclass
class Proxy:
    """The whole addon list in a test context over a real store, driven hook by hook."""

    addons: list[object]
    tctx: taddons.context
    store: AlertStore
    model: FakeModel

    @property
    def state(self) -> ProxyState:
        return self.lifecycle.state

    @property
    def lifecycle(self) -> Lifecycle:
        return next(a for a in self.addons if isinstance(a, Lifecycle))

    @property
    def pages(self) -> ChildPages:
        return next(a for a in self.addons if isinstance(a, ChildPages))

    def addon(self, kind: type[T]) -> T:
        return next(a for a in walk(self.addons) if isinstance(a, kind))

    def request(self, flow: http.HTTPFlow) -> None:
        run_hook(self.addons, "request", flow)

    def response(self, flow: http.HTTPFlow) -> None:
        run_hook(self.addons, "response", flow)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        run_hook(self.addons, "http_connect", flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        run_hook(self.addons, "websocket_message", flow)

    def client_connected(self, client: object) -> None:
        run_hook(self.addons, "client_connected", client)

    def tls_failed_client(self, data: object) -> None:
        run_hook(self.addons, "tls_failed_client", data)

    def settle(self) -> None:
        assert self.lifecycle.wait_idle(20), "the worker did not finish its queue"

    def refresh(self) -> None:
        """Make the worker read the parent's settings now instead of within notalone_refresh seconds."""
        assert self.state.worker is not None
        self.state.worker.submit_write("tick", self.lifecycle.refresh)
        self.settle()


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
