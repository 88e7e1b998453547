"""Fixtures for the addons' unit tests: the whole addon list in a mitmproxy test context over a real SQLite
store, scoring a stand-in model on a thread (the scoring process itself is tested in test_scoring.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from addon_fakes import FakeModel, Proxy
from mitmproxy.test import taddons

from alert_store import AlertStore
from proxy_addon.addon import make_addons
from proxy_addon.lifecycle import ScoringFactory
from proxy_addon.scoring import InlineScoring


@pytest.fixture
def make_proxy(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []
    contexts: list[taddons.context] = []
    stores: list[AlertStore] = []

    def make(
        model: FakeModel | None = None,
        *,
        load_model: Callable[[], FakeModel] | None = None,
        scoring_factory: ScoringFactory | None = None,
        **options: object,
    ) -> Proxy:
        model = model or FakeModel()
        addons = make_addons(
            scoring_factory or (lambda settings: InlineScoring(load_model or (lambda: model)))
        )
        tctx = taddons.context(*addons)
        contexts.append(tctx)
        tctx.configure(addons[0], notalone_data_dir=str(tmp_path), **options)
        store = AlertStore(tmp_path / "notalone.db")
        stores.append(store)
        proxy = Proxy(addons, tctx, store, model)
        for addon in addons:
            if hasattr(addon, "running"):
                addon.running()
        started.append(proxy)
        proxy.settle()
        return proxy

    yield make
    for proxy in started:
        proxy.lifecycle.done()
    for store in stores:
        store.close()
    for tctx in contexts:
        tctx.__exit__(None, None, None)


@pytest.fixture
def proxy(make_proxy: Callable[..., Proxy]) -> Proxy:
    return make_proxy()
