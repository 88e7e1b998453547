"""Faults with real processes: no model or a corrupt one, the proxy killed with SIGKILL under load."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientError, ClientSession
from hardening_support import dashboard_client
from proxy_harness import (
    ROOT,
    SCAM_HTML,
    Origin,
    OriginCertificates,
    ProxyProcess,
    fetch,
    poll,
    start_proxy,
)

from alert_store import AlertStore, DataDir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOAD_LIMIT = 3000  # requests at most; the load stops itself
LOAD_CLIENTS = 4


def corrupt_model(directory: Path) -> Path:
    """Garbage with a model card that vouches for it: passes the checksum, fails to unpickle."""
    artifact = directory / "notalone-model.joblib"
    artifact.write_bytes(b"\x80\x05this is not a pickle" * 100)
    card = json.loads((ROOT / "models" / "model-card.json").read_text())
    card["artifact"]["sha256"] = hashlib.sha256(artifact.read_bytes()).hexdigest()
    (directory / "model-card.json").write_text(json.dumps(card))
    return artifact


@pytest.mark.parametrize("model", ["missing", "corrupt"])
def test_without_a_usable_model_traffic_passes_with_scoring_off_and_a_banner(
        tmp_path: Path, certificates: OriginCertificates, origin: Origin, model: str) -> None:
    path = tmp_path / "nowhere.joblib" if model == "missing" else corrupt_model(tmp_path)
    root = tmp_path / "data"
    proxy = start_proxy(root, certificates, options={"notalone_model": str(path)})
    try:
        with proxy.store() as store:
            status = store.settings()["status.proxy"]
        assert status["scoring"] == "off" and str(path) in status["reason"]
        assert "scoring is OFF" in proxy.log()  # the clear error at start, with the reason
        assert fetch(proxy, origin.https + "/win").body == SCAM_HTML.encode()
        assert fetch(proxy, origin.http + "/win").body == SCAM_HTML.encode()
        assert proxy.process.poll() is None
        assert proxy.store_list() == []

        page = dashboard_client(root).get("/alerts/")
        assert page.status_code == 200
        assert 'class="banner danger" role="alert"' in page.get_data(as_text=True)
    finally:
        proxy.stop()


# -- kill -9 under load -------------------------------------------------------------------------------------
class Load:
    """Concurrent clients fetching unique scam URLs through the proxy until stopped, a limit, or an error."""

    def __init__(self, proxy: ProxyProcess, base: str) -> None:
        self.proxy, self.base = proxy, base
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _client(self, session: ClientSession, numbers: Iterator[int]) -> None:
        for n in numbers:
            if self.stop.is_set():
                return
            try:
                async with session.get(f"{self.base}/win?n={n}", proxy=self.proxy.url) as response:
                    await response.read()
                self.sent += 1
            except (TimeoutError, ClientError, OSError):
                return  # the proxy is gone: that is the point

    async def _run(self) -> None:
        numbers = iter(range(LOAD_LIMIT))
        async with ClientSession(trust_env=False) as session:
            await asyncio.gather(*(self._client(session, numbers) for _ in range(LOAD_CLIENTS)))

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(120)


def test_kill_9_under_load_keeps_the_database_and_every_committed_alert(
        tmp_path: Path, certificates: OriginCertificates, origin: Origin) -> None:
    root = tmp_path / "data"
    proxy = start_proxy(root, certificates)
    try:
        with Load(proxy, origin.http) as load:
            committed = poll(lambda: len(ids := alert_ids(proxy.data_dir)) >= 30 and ids, 180)
            os.killpg(proxy.process.pid, signal.SIGKILL)  # the proxy and its scoring process, no warning
            proxy.process.wait(30)
        assert load.sent >= 30
    finally:
        proxy.stop()

    with sqlite3.connect(proxy.data_dir.database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert committed <= alert_ids(proxy.data_dir)

    again = start_proxy(root, certificates)  # restarts on the same data directory and serves
    try:
        assert fetch(again, origin.https + "/win?after=restart").body == SCAM_HTML.encode()
        poll(lambda: len(alert_ids(again.data_dir)) > len(committed), 90)
        with again.store() as store:
            assert store.integrity_check() == "ok"
    finally:
        again.stop()


def alert_ids(data_dir: DataDir) -> set[int]:
    with AlertStore(data_dir.database) as store:
        return {a.id for a in store.list(limit=100_000) if a.id is not None}


def test_the_ca_key_and_data_dir_stay_private_after_a_restart(tmp_path: Path,
                                                              certificates: OriginCertificates) -> None:
    root = tmp_path / "data"
    for _ in range(2):
        proxy = start_proxy(root, certificates)
        proxy.stop()
        confdir = proxy.data_dir.confdir
        assert confdir.stat().st_mode & 0o777 == 0o700
        keys = [p for p in confdir.iterdir() if "ca" in p.name and p.suffix in (".pem", ".p12", ".key")
                and p.name != "mitmproxy-ca-cert.pem" and "cert" not in p.name]
        assert keys, "no CA private key found"
        for key in keys:
            assert key.stat().st_mode & 0o777 == 0o600, key
    shutil.rmtree(root)
