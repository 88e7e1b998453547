"""The scoring process: the only process that loads the model (phishing-host reputation included).

Started by :class:`proxy_addon.scoring.ProcessScoring` as ``python -m proxy_addon.scoring_process``. It reads
length-prefixed pickled requests on stdin and answers on the stdout it was given, one request at a time,
niced in monitor mode so that forwarding pages wins the CPU. It ends with its parent, whatever kills it:
stdin closing (the parent held the only write end) ends the read loop, and on Linux the kernel sends it
SIGKILL when the parent dies (``PR_SET_PDEATHSIG``), so even a request being scored is not finished for
nobody. Only our own process writes the frames it unpickles.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import os
import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

from cachetools import LRUCache

FRAME = struct.Struct("!I")
# Monitor mode: scoring is background work, forwarding pages always wins the CPU. Warn/block: the child's
# page waits for its score, so the scoring process keeps normal priority.
BACKGROUND_NICENESS = 19
PR_SET_PDEATHSIG = 1
CACHE_ENTRIES = 4096
PAGE, TEXT, CONVERSATION = "page", "text", "conversation"


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel for SIGKILL when the parent ends; if it already ended, end now."""
    with contextlib.suppress(Exception):  # not Linux: stdin closing still ends the process
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def read_frame(stream: BinaryIO) -> Any:
    """The next pickled object, or raise EOFError when the other side has gone."""
    header = stream.read(FRAME.size)
    if len(header) < FRAME.size:
        raise EOFError
    size = FRAME.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def write_frame(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME.pack(len(data)) + data)
    stream.flush()


def load(model: str, factory: str) -> Any:
    """The model: ``factory`` ("module:callable", for tests) or ``RiskModel.load(model)``."""
    if factory:
        module, _, name = factory.partition(":")
        return getattr(importlib.import_module(module), name)()
    from classifier import RiskModel

    return RiskModel.load(model) if model else RiskModel.load()


class Scoring:
    """The model behind a content cache; the address's reputation is applied to each request."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.cache: LRUCache[tuple[Any, ...], Any] = LRUCache(CACHE_ENTRIES)
        self.reputation = getattr(model, "with_url_reputation", None)

    def score(self, kind: str, text: str, url: str, messages: tuple[Any, ...]) -> Any:
        if kind == CONVERSATION:
            key: tuple[Any, ...] = (kind, tuple((m.from_child, m.sender, m.text) for m in messages))
        else:
            key = (kind, text) if self.reputation else (kind, text, url)
        score = self.cache.get(key)
        if score is None:
            if kind == PAGE:
                score = self.model.score_page(text, url="" if self.reputation else url)
            elif kind == TEXT:
                score = self.model.score_message(text)
            elif kind == CONVERSATION:
                score = self.model.score_conversation(list(messages))
            else:
                raise ValueError(f"unknown score request kind: {kind!r}")
            self.cache[key] = score
        if self.reputation is not None and url:
            score = self.reputation(score, url)
        return score


def main() -> None:
    parent_pid, model_path, factory, niceness = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    die_with_parent(parent_pid)
    if niceness:
        with contextlib.suppress(OSError):
            os.nice(niceness)
    # Ctrl-C or SIGTERM to the process group (`notalone up` stopping the proxy): the proxy decides when we
    # stop, after it has drained its queue through us; we end when it closes our stdin or dies.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() in a library must not corrupt the answers
    try:
        scoring = Scoring(load(model_path, factory))
    except Exception as e:
        write_frame(answers, (0, False, f"{type(e).__name__}: {e}"))
        return
    model = scoring.model
    thresholds = dict(getattr(model, "thresholds", {}) or {})
    write_frame(answers, (0, True, (str(model.version), thresholds)))
    while True:
        try:
            request_id, (kind, text, url, messages) = read_frame(requests)
        except EOFError:
            return  # the parent has gone
        try:
            answer = (request_id, True, scoring.score(kind, text, url, messages))
        except Exception as e:  # reported to the parent, which fails open and counts it
            answer = (request_id, False, f"{type(e).__name__}: {e}")
        try:
            write_frame(answers, answer)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    main()
