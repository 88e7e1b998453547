"""The addon's background thread: it owns the store connection, runs scoring jobs and small writes.

Hooks run on mitmproxy's event loop and must never wait, so they hand work here. Scoring jobs go into a
bounded queue that drops its *oldest* job when full (a stale page matters less than the one the child is
reading now) and counts the drop; small store writes (devices, blind spots, counters, alerts already
decided) go into their own queue so that a burst of pages cannot crowd them out.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from alert_store import AlertStore

log = logging.getLogger(__name__)

T = TypeVar("T")
StoreTask = Callable[[AlertStore], None]

WRITE_QUEUE_LIMIT = 10_000
STORE_OPEN_ATTEMPTS = 10


class DropOldestQueue(Generic[T]):
    """A FIFO whose ``put`` never blocks: when full it discards the oldest item and counts it."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, not {maxsize!r}")
        self._items: deque[T] = deque()
        self.maxsize = maxsize
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Append ``item``; return True when an older item had to be dropped to make room."""
        dropped = False
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self.dropped += 1
            dropped = True
        self._items.append(item)
        return dropped

    def pop(self) -> T | None:
        try:
            return self._items.popleft()
        except IndexError:
            return None

    def __len__(self) -> int:
        return len(self._items)


class BackgroundWorker:
    """One thread with its own ``AlertStore``; runs writes first, then scoring jobs, then a periodic tick.

    Every task is fail-open: an exception is reported to ``on_error(kind, exc)`` and the thread goes on.
    """

    def __init__(
        self,
        database: Path,
        *,
        queue_size: int,
        on_error: Callable[[str, BaseException], None],
        on_start: StoreTask | None = None,
        tick: StoreTask | None = None,
        tick_interval_s: float = 3.0,
    ) -> None:
        self.database = database
        self.jobs: DropOldestQueue[tuple[str, StoreTask]] = DropOldestQueue(queue_size)
        self.writes: DropOldestQueue[tuple[str, StoreTask]] = DropOldestQueue(WRITE_QUEUE_LIMIT)
        self._on_error = on_error
        self._on_start = on_start
        self._tick = tick
        self._tick_interval_s = tick_interval_s
        self._wake = threading.Condition()
        self._stopping = False
        self._busy = True  # until on_start has run, so that wait_idle() covers loading the model
        self._dropped_reported = 0
        self._thread = threading.Thread(target=self._run, name="notalone-worker", daemon=True)

    # -- called from the event loop -------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit_job(self, kind: str, task: StoreTask) -> None:
        """Queue scoring work; drops the oldest queued job when the queue is full."""
        with self._wake:
            self.jobs.put((kind, task))
            self._wake.notify()

    def submit_write(self, kind: str, task: StoreTask) -> None:
        with self._wake:
            self.writes.put((kind, task))
            self._wake.notify()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until both queues are empty and no task runs (for tests and shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self.jobs or self.writes or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.wait(min(remaining, 0.05))
        return True

    # -- the thread -----------------------------------------------------------------------------------
    def _next(self, wait_s: float) -> tuple[str, StoreTask] | None:
        """The next task, writes first; None when ``wait_s`` passes with nothing to do, or when stopping."""
        with self._wake:
            item = self.writes.pop() or self.jobs.pop()
            if item is None and not self._stopping:
                self._wake.notify_all()  # wake wait_idle()
                self._wake.wait(max(0.0, wait_s))
                item = self.writes.pop() or self.jobs.pop()
            self._busy = item is not None
            return item

    def _open_store(self) -> AlertStore:
        """Open the store, retrying a few times: the dashboard may be creating the same database right now."""
        for attempt in range(STORE_OPEN_ATTEMPTS):
            try:
                return AlertStore(self.database)
            except sqlite3.OperationalError as e:
                if attempt == STORE_OPEN_ATTEMPTS - 1:
                    raise
                log.warning("NotAlone: opening %s failed (%s), retrying", self.database, e)
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _run(self) -> None:
        store = self._open_store()
        try:
            if self._on_start:
                self._call(store, "start", self._on_start)
            with self._wake:
                self._busy = False
                self._wake.notify_all()
            next_tick = time.monotonic() + self._tick_interval_s
            while True:
                item = self._next(next_tick - time.monotonic())
                if item is not None:
                    kind, task = item
                    try:
                        self._call(store, kind, task)
                    finally:
                        with self._wake:
                            self._busy = False
                            self._wake.notify_all()
                elif self._stopping:
                    break
                if self._tick and time.monotonic() >= next_tick:
                    self._call(store, "tick", self._tick)
                    next_tick = time.monotonic() + self._tick_interval_s
                self._report_drops(store)
        finally:
            self._report_drops(store)
            store.close()

    def _report_drops(self, store: AlertStore) -> None:
        dropped = self.jobs.dropped
        if dropped > self._dropped_reported:
            self._call(store, "drop_count",
                       lambda s: s.increment("queue.dropped", dropped - self._dropped_reported))
            self._dropped_reported = dropped

    def _call(self, store: AlertStore, kind: str, task: StoreTask) -> None:
        try:
            task(store)
        except Exception as e:  # the fail-open boundary: count it, keep the thread alive
            self._on_error(kind, e)
            try:
                store.increment(f"errors.{kind}")
            except Exception:  # a broken database must not kill the worker either
                log.exception("NotAlone: could not count an error of kind %s", kind)
