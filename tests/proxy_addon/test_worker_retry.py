"""The worker keeps work the database refuses (locked, full) and writes it once the database is back."""

from __future__ import annotations

import sqlite3
import time

import pytest

from alert_store import Alert, AlertStore
from classifier.records import Score
from proxy_addon.analysis import Analysis, FlowContext
from proxy_addon.worker import BackgroundWorker


def _alert(snippet: str) -> Alert:
    return Alert(child="An", category="scam", severity="high", probability=0.97, snippet=snippet)


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_an_alert_written_while_the_database_is_locked_arrives_after_the_lock(tmp_path):
    database = tmp_path / "notalone.db"
    AlertStore(database).close()
    errors: list[tuple[str, BaseException]] = []
    worker = BackgroundWorker(database, queue_size=16, on_error=lambda k, e: errors.append((k, e)))
    worker.start()
    try:
        assert worker.wait_idle(30)
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # as another process holding the write lock for a long time
        worker.submit_write("alert", lambda s: s.add(_alert("written late")))
        assert _wait_for(lambda: worker.pending_retries == 1)
        blocker.execute("COMMIT")
        blocker.close()
        with AlertStore(database) as reader:
            assert _wait_for(lambda: reader.count() == 1)
            assert reader.list()[0].snippet == "written late"
            assert _wait_for(lambda: reader.counters().get("store.retried", 0) >= 1)
        assert errors == []
    finally:
        worker.stop(timeout=30)


def test_a_refused_alert_is_admitted_again_on_retry(tmp_path):
    analysis = Analysis(lambda: None)
    ctx = FlowContext(child="An", device="ip:192.168.1.5", url="https://x.example/", host="x.example")
    score = Score(scam=0.99, grooming=0.0, alert="scam", severity="high", snippet="free robux")

    class RefusingStore:
        def add(self, alert):
            raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(sqlite3.OperationalError):
        analysis.record(RefusingStore(), ctx, score, direction="incoming", subject=ctx.url)
    with AlertStore(tmp_path / "db.sqlite") as store:
        assert analysis.record(store, ctx, score, direction="incoming", subject=ctx.url) is not None
        assert store.count() == 1
