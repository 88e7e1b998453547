"""Score text with the classifier: in this process or in a worker process, behind a content-hash cache.

Where monitor-mode scoring runs was measured with ``bench/proxy_bench.py`` on a 2-CPU machine, 100 KiB
unique pages, one sequential client (figures in ``proxy_addon/README.md``):

    bare mitmdump           568 pages/s  p50 1.31 ms
    worker process (nice)   478 pages/s  p50 1.44 ms   0.84 x bare, +0.14 ms
    worker thread            77 pages/s  p50 11.0 ms   0.14 x bare, +9.7 ms

A thread holds the GIL for most of each ~10 ms page score, so the event loop stalls behind it; a separate,
niced process leaves the proxy its CPU. ``process`` is therefore the default of ``notalone_worker``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from classifier import ChatMessage, Score

PAGE, TEXT, CONVERSATION = "page", "text", "conversation"
SCORE_TIMEOUT_S = 30.0


class Model(Protocol):
    """The part of ``classifier.RiskModel`` the addon uses (see classifier/API.md)."""

    version: str

    def score_page(self, html: str, url: str = "") -> Score: ...
    def score_message(self, text: str) -> Score: ...
    def score_conversation(self, messages: Sequence[ChatMessage]) -> Score: ...


class ScoringUnavailable(RuntimeError):
    """The model could not be loaded; the message says why, for the dashboard's status line."""


def load_model(path: str = "") -> Model:
    """Load the shipped model (or the one at ``path``); raise ScoringUnavailable with the reason."""
    try:
        from classifier import ModelLoadError, RiskModel
    except ImportError:
        # API.md promises these at the package top; until classifier/__init__ exports them, use the module.
        try:
            from classifier.model import ModelLoadError, RiskModel
        except ImportError as e:
            raise ScoringUnavailable(f"the classifier cannot be imported: {e}") from e
    try:
        return RiskModel.load(path) if path else RiskModel.load()
    except ModelLoadError as e:
        raise ScoringUnavailable(f"the model could not be loaded: {e}") from e


@dataclass(frozen=True)
class ScoreRequest:
    """What to score: a page's HTML, a plain text, or a conversation window (oldest first)."""

    kind: str
    text: str = ""
    url: str = ""
    messages: tuple[ChatMessage, ...] = ()

    def content_hash(self) -> str:
        """The key of what the model reads: the text, not the address (see ``CachedScorer``)."""
        return self._content_hash

    @cached_property
    def _content_hash(self) -> str:
        # Python's own string hash (keyed per process, 64 bits) rather than a cryptographic digest: the
        # cache lives in this process only, and this runs on the proxy's event loop for every page.
        if self.kind == CONVERSATION:
            content = hash(tuple((m.from_child, m.sender, m.text) for m in self.messages))
            size = sum(len(m.text) for m in self.messages)
        else:
            content, size = hash(self.text), len(self.text)
        return f"{self.kind}:{size}:{content:x}"


def run_request(model: Model, request: ScoreRequest) -> Score:
    if request.kind == PAGE:
        return model.score_page(request.text, url=request.url)
    if request.kind == TEXT:
        return model.score_message(request.text)
    if request.kind == CONVERSATION:
        return model.score_conversation(list(request.messages))
    raise ValueError(f"unknown score request kind: {request.kind!r}")


class Scorer(Protocol):
    version: str

    def score(self, request: ScoreRequest) -> Score: ...
    def close(self) -> None: ...


class InProcessScorer:
    """Score in the calling thread. Right for warn/block mode's synchronous page check."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.version = model.version

    def score(self, request: ScoreRequest) -> Score:
        return run_request(self.model, request)

    def close(self) -> None:
        pass


# -- the worker process's side -------------------------------------------------------------------------
_process_model: Model | None = None


WORKER_NICENESS = 19  # the lowest priority: forwarding pages always comes first


def _init_worker_process(model_path: str) -> None:
    global _process_model
    # Scoring is background work: when the CPUs are busy, the proxy's own forwarding must win, and the
    # queue in front of this process drops the oldest pages instead.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    _process_model = load_model(model_path)


def _score_in_worker_process(request: ScoreRequest) -> Score:
    assert _process_model is not None, "worker process started without its model"
    return run_request(_process_model, request)


class ProcessPoolScorer:
    """Score in a separate process, so the proxy's event loop never waits for the GIL behind the model.

    ``spawn`` rather than ``fork``: mitmproxy's process is multi-threaded, and forking it is unsafe.
    """

    def __init__(self, model_path: str, version: str, workers: int = 1) -> None:
        self.version = version
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker_process,
            initargs=(model_path,),
        )

    def score(self, request: ScoreRequest) -> Score:
        return self._pool.submit(_score_in_worker_process, request).result(timeout=SCORE_TIMEOUT_S)

    def warm_up(self, timeout: float = 120.0) -> None:
        """Start the process and load its model now, not on the first page: until it is warm, every page
        would wait in the queue (and a burst would overflow it)."""
        self._pool.submit(_score_in_worker_process, ScoreRequest(TEXT, "hello")).result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ScoreCache:
    """A thread-safe LRU of scores keyed by content hash: the same page or window is scored once."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Score | None:
        with self._lock:
            score = self._items.get(key)
            if score is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return score

    def put(self, key: str, score: Score) -> None:
        with self._lock:
            self._items[key] = score
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class CachedScorer:
    """A scorer behind a content-hash cache, shared by the synchronous path and the worker.

    Scores are cached by content alone, so the same page under many addresses (a scam kit on fresh
    URLs, a page with tracking parameters) is scored once; the address's own reputation (the phishing
    blocklist) is applied to each visit by ``reputation``, the model's ``with_url_reputation``.
    """

    def __init__(
        self,
        scorer: Scorer,
        cache: ScoreCache | None = None,
        reputation: Callable[[Score, str], Score] | None = None,
    ) -> None:
        self.scorer = scorer
        self.cache = cache if cache is not None else ScoreCache()
        self.version = scorer.version
        self.reputation = reputation

    def _key(self, request: ScoreRequest) -> str:
        key = request.content_hash()
        # Without a reputation step the address may change the score: cache per address too.
        return key if self.reputation is not None else f"{key}:{request.url}"

    def _for_address(self, score: Score, request: ScoreRequest) -> Score:
        if self.reputation is not None and request.url:
            return self.reputation(score, request.url)
        return score

    def cached(self, request: ScoreRequest) -> Score | None:
        """The score if this content was scored before, without scoring it now."""
        score = self.cache.get(self._key(request))
        return None if score is None else self._for_address(score, request)

    def score(self, request: ScoreRequest) -> Score:
        key = self._key(request)
        score = self.cache.get(key)
        if score is None:
            score = self.scorer.score(replace(request, url="") if self.reputation else request)
            self.cache.put(key, score)
        return self._for_address(score, request)

    def close(self) -> None:
        self.scorer.close()
