"""Fixtures for the addon's unit tests: the addon in a mitmproxy test context over a real SQLite store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from addon_fakes import FakeModel, Proxy
from mitmproxy.test import taddons

from alert_store import AlertStore
from proxy_addon.addon import NotAlone


@pytest.fixture
def make_proxy(tmp_path: Path) -> Iterator[Callable[..., Proxy]]:
    started: list[NotAlone] = []
    contexts: list[taddons.context] = []
    stores: list[AlertStore] = []

    def make(
        model: FakeModel | None = None,
        *,
        load_model: Callable[[str], FakeModel] | None = None,
        **options: object,
    ) -> Proxy:
        model = model or FakeModel()
        addon = NotAlone(load_model=load_model or (lambda path: model))
        tctx = taddons.context(addon)
        contexts.append(tctx)
        tctx.configure(addon, notalone_data_dir=str(tmp_path), notalone_worker="thread", **options)
        addon.running()
        started.append(addon)
        addon.wait_idle(30)
        store = AlertStore(tmp_path / "notalone.db")
        stores.append(store)
        return Proxy(addon, tctx, store, model)

    yield make
    for addon in started:
        addon.done()
    for store in stores:
        store.close()
    for tctx in contexts:
        tctx.__exit__(None, None, None)


@pytest.fixture
def proxy(make_proxy: Callable[..., Proxy]) -> Proxy:
    return make_proxy()
