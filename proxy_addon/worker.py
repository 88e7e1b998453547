"""The addon's background thread: it owns the store connection, runs scoring jobs and small writes.

Hooks run on mitmproxy's event loop and must never wait, so they hand work here. Scoring jobs go into a
bounded queue that drops its *oldest* job when full (a stale page matters less than the one the child is
reading now) and counts the drop; small store writes (devices, blind spots, counters, alerts already
decided) go into their own queue so that a burst of pages cannot crowd them out.

A task that fails because the database cannot be written right now (locked past the busy timeout, disk
full, an I/O error) is kept and retried with backoff, so an alert waits for the disk instead of being lost;
``store.retried`` and ``store.gave_up`` count what happened, and the first failure of a spell is logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alert_store import AlertStore

log = logging.getLogger(__name__)

T = TypeVar("T")
StoreTask = Callable[[AlertStore], None]

WRITE_QUEUE_LIMIT = 10_000
STORE_OPEN_ATTEMPTS = 10
RETRY_LIMIT = 10_000  # tasks waiting for the database; past this the oldest is given up (and counted)
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
RETRY_ATTEMPTS = 70  # about an hour of trying before a task is given up


class DropOldestQueue[T]:
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
        self._reported: dict[str, int] = {}
        # (due, attempts, kind, task) of tasks the database refused; only the worker thread touches it.
        self._retry: deque[tuple[float, int, str, StoreTask]] = deque()
        self.retried = 0
        self.gave_up = 0
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
                due = min(next_tick, self._retry[0][0]) if self._retry else next_tick
                item = self._next(due - time.monotonic())
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
                self._run_due_retries(store)
                if self._tick and time.monotonic() >= next_tick:
                    self._call(store, "tick", self._tick)
                    next_tick = time.monotonic() + self._tick_interval_s
                self._report_drops(store)
        finally:
            self._run_due_retries(store, everything=True)  # a last try at shutdown
            if self._retry:
                log.error(
                    "NotAlone: %d task(s) could not be written before shutdown: the database "
                    "stayed unavailable",
                    len(self._retry),
                )
            self._report_drops(store)
            store.close()

    @property
    def pending_retries(self) -> int:
        return len(self._retry)

    def _run_due_retries(self, store: AlertStore, everything: bool = False) -> None:
        now = time.monotonic()
        for _ in range(len(self._retry)):
            due, attempts, kind, task = self._retry[0]
            if not everything and due > now:
                break
            self._retry.popleft()
            self._call(store, kind, task, attempts)

    def _keep_for_retry(self, kind: str, task: StoreTask, attempts: int, error: sqlite3.Error) -> None:
        if attempts >= RETRY_ATTEMPTS:
            self.gave_up += 1
            log.error("NotAlone: gave up writing a %s task after %d attempts: %s", kind, attempts, error)
            return
        if not self._retry and attempts == 0:
            log.warning("NotAlone: the database cannot be written (%s); keeping work to retry", error)
        if len(self._retry) >= RETRY_LIMIT:
            self._retry.popleft()
            self.gave_up += 1
        delay = RETRY_DELAYS_S[min(attempts, len(RETRY_DELAYS_S) - 1)]
        self._retry.append((time.monotonic() + delay, attempts + 1, kind, task))
        self.retried += 1

    def _report_drops(self, store: AlertStore) -> None:
        """Add what was dropped, retried or given up since the last report to the store's counters."""
        for name, value in (
            ("queue.dropped", self.jobs.dropped),
            ("store.retried", self.retried),
            ("store.gave_up", self.gave_up),
        ):
            reported = self._reported.get(name, 0)
            if value > reported:
                self._call(store, "count", lambda s, n=name, d=value - reported: s.increment(n, d))
                self._reported[name] = value

    def _call(self, store: AlertStore, kind: str, task: StoreTask, attempts: int = 0) -> None:
        try:
            task(store)
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
            if isinstance(e, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                self._fail(store, kind, e)  # the task itself is wrong: retrying cannot help
            else:  # locked, busy, disk full, I/O error: the database may come back
                self._keep_for_retry(kind, task, attempts, e)
        except Exception as e:
            self._fail(store, kind, e)

    def _fail(self, store: AlertStore, kind: str, e: BaseException) -> None:
        """The fail-open boundary: report and count the error, keep the thread alive."""
        self._on_error(kind, e)
        try:
            store.increment(f"errors.{kind}")
        except Exception:  # a broken database must not kill the worker either
            log.exception("NotAlone: could not count an error of kind %s", kind)
