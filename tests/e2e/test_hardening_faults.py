"""Faults with real processes: no model or a corrupt one, the proxy killed with SIGKILL under load, the disk
full or the database locked under the proxy, the dashboard restarted under load."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from aiohttp import ClientError, ClientSession
from hardening_support import DashboardProcess, dashboard_client
from proxy_harness import (
    BENIGN_PAGES,
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


@pytest.mark.parametrize("via_mitmdump", [False, True], ids=["notalone-proxy", "mitmdump-script"])
@pytest.mark.parametrize("model", ["missing", "corrupt"])
def test_without_a_usable_model_traffic_passes_with_scoring_off_and_a_banner(
    tmp_path: Path, certificates: OriginCertificates, origin: Origin, model: str, via_mitmdump: bool
) -> None:
    path = tmp_path / "nowhere.joblib" if model == "missing" else corrupt_model(tmp_path)
    root = tmp_path / "data"
    proxy = start_proxy(root, certificates, via_mitmdump=via_mitmdump, options={"notalone_model": str(path)})
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

    def __init__(self, proxy: ProxyProcess, base: str, limit: int = LOAD_LIMIT) -> None:
        self.proxy, self.base, self.limit = proxy, base, limit
        self.sent = self.errors = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _client(self, session: ClientSession, numbers: Iterator[int]) -> None:
        for n in numbers:
            if self.stop.is_set():
                return
            try:
                async with session.get(f"{self.base}/win?n={n}", proxy=self.proxy.url) as response:
                    await response.read()
                    response.raise_for_status()
                self.sent += 1
            except (TimeoutError, ClientError, OSError):
                self.errors += 1
                return  # under kill -9 the proxy is gone: that is the point

    async def _run(self) -> None:
        numbers = iter(range(self.limit))
        async with ClientSession(trust_env=False) as session:
            await asyncio.gather(*(self._client(session, numbers) for _ in range(LOAD_CLIENTS)))

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(120)


def test_kill_9_under_load_keeps_the_database_and_every_committed_alert(
    tmp_path: Path, certificates: OriginCertificates, origin: Origin
) -> None:
    root = tmp_path / "data"
    proxy = start_proxy(root, certificates)
    try:
        with Load(proxy, origin.http, limit=20_000) as load:  # more than the restarts take
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


def test_the_ca_key_and_data_dir_stay_private_after_a_restart(
    tmp_path: Path, certificates: OriginCertificates
) -> None:
    root = tmp_path / "data"
    for _ in range(2):
        proxy = start_proxy(root, certificates)
        proxy.stop()
        confdir = proxy.data_dir.confdir
        assert confdir.stat().st_mode & 0o777 == 0o700
        keys = [
            p
            for p in confdir.iterdir()
            if "ca" in p.name
            and p.suffix in (".pem", ".p12", ".key")
            and p.name != "mitmproxy-ca-cert.pem"
            and "cert" not in p.name
        ]
        assert keys, "no CA private key found"
        for key in keys:
            assert key.stat().st_mode & 0o777 == 0o600, key
    shutil.rmtree(root)


# -- the database refuses to write: the disk is full, or another process holds the lock ---------------
REFUSED = "the database cannot be written"  # the worker's warning when it starts keeping work to retry
FILLER_CHUNK = 4096  # tmpfs hands out whole pages: filling page by page leaves no byte free


@contextmanager
def small_tmpfs(directory: Path, size: str = "3m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``directory`` (root only); unmounted on the way out."""
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({mounted.stderr.strip()}); the locked-database test stands in")
    try:
        yield directory
    finally:
        if subprocess.run(["umount", str(directory)]).returncode != 0:
            subprocess.run(["umount", "--lazy", str(directory)], check=True)


def fill_up(filler: Path, limit: int = 64 * 1024 * 1024) -> int:
    """Write ``filler`` until its disk has no room left; the bytes written (at most ``limit``)."""
    written = 0
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < limit:
            try:
                written += os.write(fd, b"\0" * FILLER_CHUNK)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return written
    finally:
        os.close(fd)
    raise AssertionError(f"{filler}: still room after {limit} bytes")


def scam_alerts(database: Path) -> int:
    """Read-only: opening the store for writing would itself fail on a full disk."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as raw:
        return raw.execute("SELECT count(*) FROM alerts WHERE category = 'scam'").fetchone()[0]


def assert_the_alert_waits_for_the_database(
    proxy: ProxyProcess, origin: Origin, release: Callable[[], None]
) -> None:
    """A scam page while the database refuses writes: the page is delivered at once, the alert is kept and
    written once ``release`` lets the database write again."""
    assert fetch(proxy, origin.https + "/win?refused=1").body == SCAM_HTML.encode()
    poll(lambda: REFUSED in proxy.log_file.read_text(errors="replace"), 120)
    assert scam_alerts(proxy.data_dir.database) == 0
    release()
    poll(lambda: scam_alerts(proxy.data_dir.database) == 1, 180)
    counters = poll(lambda: (c := proxy.counters()).get("store.retried", 0) >= 1 and c, 180)
    assert counters.get("store.gave_up", 0) == 0
    assert proxy.process.poll() is None
    assert fetch(proxy, origin.http + "/homework").body == BENIGN_PAGES["/homework"].encode()


def test_a_full_disk_delays_the_alert_without_losing_it(
    tmp_path: Path, certificates: OriginCertificates, origin: Origin
) -> None:
    with small_tmpfs(tmp_path / "data") as root:
        proxy = start_proxy(root, certificates, log_file=tmp_path / "proxy.log")  # the log needs the room
        filler = root / "filler"
        try:
            fill_up(filler)
            assert_the_alert_waits_for_the_database(proxy, origin, release=filler.unlink)
        finally:
            proxy.stop()


def test_a_locked_database_delays_the_alert_without_losing_it(
    tmp_path: Path, certificates: OriginCertificates, origin: Origin
) -> None:
    proxy = start_proxy(tmp_path / "data", certificates)
    try:
        with closing(sqlite3.connect(proxy.data_dir.database, isolation_level=None)) as holder:
            holder.execute("BEGIN EXCLUSIVE")  # held past the store's 5 s busy timeout
            assert_the_alert_waits_for_the_database(proxy, origin, release=lambda: holder.execute("COMMIT"))
    finally:
        proxy.stop()


# -- the dashboard restarted under load ------------------------------------------------------------------
RESULT_COUNT = re.compile(r'id="result-count">(\d+) (?:alerts?|incidents?)<')
ALERT_LINK = re.compile(r'href="/alerts/(\d+)')


def shown_alerts(dashboard: DashboardProcess) -> tuple[int, set[int]]:
    """What a freshly logged-in parent sees on the first page: the count and the alerts linked."""
    with dashboard.logged_in().open(dashboard.url + "/alerts/", timeout=60) as page:
        assert page.status == 200
        text = page.read().decode()
    count = RESULT_COUNT.search(text)
    assert count, text[:1000]
    return int(count.group(1)), {int(n) for n in ALERT_LINK.findall(text)}


def test_the_dashboard_restarted_under_load_loses_nothing(
    tmp_path: Path, certificates: OriginCertificates, origin: Origin
) -> None:
    proxy = start_proxy(tmp_path / "data", certificates)
    dashboard_client(proxy.data_dir.root)  # the parent has set the dashboard up
    dashboard = DashboardProcess(proxy.data_dir.root, tmp_path / "dashboard.log")
    try:
        with Load(proxy, origin.http, limit=20_000) as load:  # more than the restarts take
            poll(lambda: load.sent >= 20 or load.errors, 180)
            dashboard.start()
            shown_alerts(dashboard)
            dashboard.stop()
            at_stop = load.sent
            poll(lambda: load.sent >= at_stop + 20 or load.errors, 180)  # traffic goes on without it
            dashboard.start()
            poll(lambda: load.sent >= at_stop + 40 or load.errors, 180)
        assert load.errors == 0
        assert load.sent >= 60

        ids = poll(lambda: len(ids := alert_ids(proxy.data_dir)) >= load.sent and ids, 300)
        assert len(ids) == load.sent  # one alert per scam page, none lost, none doubled
        count, linked = shown_alerts(dashboard)
        with AlertStore(proxy.data_dir.database) as store:  # the same page's alerts fold into incidents
            incidents = store.count_incidents()
            detections = sum(i.detections for i in store.incidents(limit=100_000))
        assert count == incidents and detections == len(ids) and linked and linked <= ids
        browser = dashboard.logged_in()
        for alert_id in (min(ids), max(ids)):  # the oldest and the newest open
            with browser.open(f"{dashboard.url}/alerts/{alert_id}", timeout=60) as page:
                assert page.status == 200
    finally:
        dashboard.stop()
        proxy.stop()
