"""The proxy's side of scoring: requests go to the scoring process, answers come back as futures.

The proxy process never imports the model (nor scikit-learn): :mod:`proxy_addon.scoring_process` loads it,
once, in a child process that ends with the proxy. ``submit`` only queues a request (a writer thread
pickles it into the pipe, a reader thread resolves the future), so the event loop can ``await`` a score
(warn/block) and the worker thread can wait for one (monitor) without either doing the model's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from proxy_addon.scoring_process import CONVERSATION, PAGE, TEXT, read_frame, write_frame

if TYPE_CHECKING:
    from classifier.records import ChatMessage, Score

__all__ = ["CONVERSATION", "PAGE", "TEXT", "ProcessScoring", "ScoreRequest", "Scoring", "ScoringUnavailable"]

log = logging.getLogger("notalone")

SCORE_TIMEOUT_S = 30.0  # a request not answered by then fails open (the page or job passes unscored)
START_TIMEOUT_S = 180.0


class ScoringUnavailable(RuntimeError):
    """No score can be had: the model did not load, or the scoring process has gone. Says why."""


@dataclass(frozen=True)
class ScoreRequest:
    """What to score: a page's HTML, a plain text, or a conversation window (oldest first)."""

    kind: str
    text: str = ""
    url: str = ""
    messages: tuple[ChatMessage, ...] = ()


class Scoring(Protocol):
    """Where scores come from: the scoring process, or an in-process stand-in in unit tests."""

    version: str
    thresholds: dict[str, Any]

    def start(self) -> None: ...
    def submit(self, request: ScoreRequest) -> Future[Score]: ...
    def close(self) -> None: ...

    @property
    def gone(self) -> str:
        """Why scoring has ended ("" while it runs)."""
        ...

    @property
    def pids(self) -> Sequence[int]: ...


def score_now(scoring: Scoring, request: ScoreRequest, timeout: float = SCORE_TIMEOUT_S) -> Score:
    """Wait for a score on this thread (the worker's); never call it on the event loop."""
    return scoring.submit(request).result(timeout=timeout)


async def score_async(scoring: Scoring, request: ScoreRequest, timeout: float = SCORE_TIMEOUT_S) -> Score:
    """Await a score from the event loop without blocking it."""
    return await asyncio.wait_for(asyncio.wrap_future(scoring.submit(request)), timeout)


class ProcessScoring:
    """The scoring process and the two threads that talk to it.

    ``start`` blocks until the model is loaded (call it on the worker thread); it raises
    :class:`ScoringUnavailable` with the child's own reason when the model cannot be loaded. Start it from a
    thread that lives as long as scoring is needed: Linux sends ``PR_SET_PDEATHSIG`` when the *thread* that
    started the child ends (the worker thread, which ends only when the proxy stops scoring anyway).
    """

    def __init__(self, model: str = "", factory: str = "", niceness: int = 0) -> None:
        self.model = model
        self.factory = factory
        self.niceness = niceness
        self.version = ""
        self.thresholds: dict[str, Any] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._outbox: queue.SimpleQueue[tuple[int, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._gone: str = ""

    @property
    def pids(self) -> Sequence[int]:
        return [self.process.pid] if self.process is not None else []

    @property
    def gone(self) -> str:
        if not self._gone and self.process is not None and self.process.poll() is not None:
            return f"the scoring process has ended (exit status {self.process.returncode})"
        return self._gone

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        # Our own sys.path, so that the child finds the same packages (and a test's model factory).
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in sys.path))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "proxy_addon.scoring_process",
                str(os.getpid()),
                self.model,
                self.factory,
                str(self.niceness),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        ready: Future[Any] = Future()
        self._pending[0] = ready
        threading.Thread(target=self._read, name="notalone-scoring-reader", daemon=True).start()
        threading.Thread(target=self._write, name="notalone-scoring-writer", daemon=True).start()
        try:
            self.version, self.thresholds = ready.result(timeout=timeout)
        except ScoringUnavailable:
            self.close()
            raise
        except TimeoutError:
            self.close()
            reason = f"the scoring process did not load the model in {timeout:.0f}s"
            raise ScoringUnavailable(reason) from None

    def submit(self, request: ScoreRequest) -> Future[Score]:
        future: Future[Score] = Future()
        with self._lock:
            if self._gone:
                future.set_exception(ScoringUnavailable(self._gone))
                return future
            request_id = next(self._ids)
            self._pending[request_id] = future
        self._outbox.put((request_id, (request.kind, request.text, request.url, request.messages)))
        return future

    def close(self) -> None:
        self._fail_all("the scoring process was stopped")
        self._outbox.put(None)
        process = self.process
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()  # the child's read loop ends
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    # -- the threads ----------------------------------------------------------------------------------
    def _write(self) -> None:
        process = self.process
        assert process is not None and process.stdin is not None
        while (item := self._outbox.get()) is not None:
            try:
                write_frame(process.stdin, item)
            except (BrokenPipeError, OSError, ValueError):
                self._fail_all("the scoring process has ended")
                return

    def _read(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None
        while True:
            try:
                request_id, ok, value = read_frame(process.stdout)
            except Exception as e:  # EOF, a broken pipe or a garbled frame: this channel is done for
                code = process.poll()
                self._fail_all(f"the scoring process has ended (exit status {code}, {type(e).__name__})")
                with contextlib.suppress(OSError):
                    process.kill()  # a garbled channel with a live process: the refresh starts a new one
                return
            with self._lock:
                future = self._pending.pop(request_id, None)
            if future is None:
                continue
            # The waiter may have given up (a warn-mode timeout cancels its future) at any moment.
            with contextlib.suppress(InvalidStateError):
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(ScoringUnavailable(f"the model failed: {value}"))

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            if not self._gone:
                self._gone = reason
            pending, self._pending = self._pending, {}
        for future in pending.values():
            with contextlib.suppress(InvalidStateError):
                future.set_exception(ScoringUnavailable(reason))


class InlineScoring:
    """A model scored on a thread of this process: for unit tests with a stand-in model only."""

    pids: Sequence[int] = ()
    gone = ""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._model: Any = None
        self.version = ""
        self.thresholds: dict[str, Any] = {}
        self._jobs: queue.SimpleQueue[tuple[Future[Any], ScoreRequest] | None] = queue.SimpleQueue()

    def start(self) -> None:
        from proxy_addon.scoring_process import Scoring as CachedModel

        model = self._load()  # ScoringUnavailable passes through, as from the scoring process
        self._model = CachedModel(model)
        self.version = str(model.version)
        self.thresholds = dict(getattr(model, "thresholds", {}) or {})
        threading.Thread(target=self._run, name="notalone-inline-scoring", daemon=True).start()

    def submit(self, request: ScoreRequest) -> Future[Score]:
        future: Future[Score] = Future()
        self._jobs.put((future, request))
        return future

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, r = item
            try:
                score = self._model.score(r.kind, r.text, r.url, r.messages)
            except Exception as e:
                with contextlib.suppress(InvalidStateError):
                    future.set_exception(ScoringUnavailable(f"the model failed: {type(e).__name__}: {e}"))
                continue
            with contextlib.suppress(InvalidStateError):
                future.set_result(score)

    def close(self) -> None:
        self._jobs.put(None)
