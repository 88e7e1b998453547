"""The scoring process through its client: scores come back as futures, failures as ScoringUnavailable with
the reason, and the process ends when the proxy closes it or dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import pytest
from addon_fakes import SCAM_PHRASE, Proxy

from classifier.records import Score
from proxy_addon.scoring import (
    PAGE,
    TEXT,
    ProcessScoring,
    ScoreRequest,
    ScoringUnavailable,
    score_async,
    score_now,
)


@pytest.fixture
def scoring() -> ProcessScoring:
    process = ProcessScoring(factory="addon_fakes:FakeModel")
    process.start()
    yield process
    process.close()


def test_scores_come_back_from_the_scoring_process(scoring: ProcessScoring) -> None:
    assert scoring.version == "test-1"
    [pid] = scoring.pids
    assert pid != os.getpid()
    page = score_now(
        scoring, ScoreRequest(PAGE, f"<title>Win</title><p>buy a {SCAM_PHRASE}</p>", "https://a.example/")
    )
    assert isinstance(page, Score) and page.alert == "scam" and page.title == "Win"
    quiet = asyncio.run(score_async(scoring, ScoreRequest(TEXT, "see you at practice")))
    assert quiet.alert is None


def test_a_failing_model_fails_the_request_not_the_process() -> None:
    scoring = ProcessScoring(factory="addon_fakes:RaisingModel")
    scoring.start()
    try:
        with pytest.raises(ScoringUnavailable, match="model exploded"):
            score_now(scoring, ScoreRequest(PAGE, "<p>anything</p>"))
        assert score_now(scoring, ScoreRequest(TEXT, "hello")).alert is None  # still serving
    finally:
        scoring.close()


def test_a_model_that_cannot_load_says_why() -> None:
    scoring = ProcessScoring(model="/nonexistent/model.joblib", factory="addon_fakes:NoSuchModel")
    with pytest.raises(ScoringUnavailable, match="NoSuchModel"):
        scoring.start()
    assert scoring.process is not None and scoring.process.poll() is not None


def test_close_ends_the_process_and_later_requests_fail_open(scoring: ProcessScoring) -> None:
    process = scoring.process
    assert process is not None
    process.send_signal(signal.SIGTERM)  # ignored: the proxy, not the process group, decides when it ends
    assert score_now(scoring, ScoreRequest(TEXT, "still here")).alert is None
    scoring.close()
    assert process.poll() is not None
    with pytest.raises(ScoringUnavailable):
        score_now(scoring, ScoreRequest(TEXT, "hello"))


def test_the_scoring_process_dies_with_a_parent_killed_by_sigkill() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from proxy_addon.scoring import ProcessScoring
                scoring = ProcessScoring(factory="addon_fakes:FakeModel")
                scoring.start()
                print(scoring.pids[0], flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in sys.path)),
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(30)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{child}") and not _zombie(child):
        assert time.monotonic() < deadline, "the scoring process outlived its parent"
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_scoring_process_that_dies_is_replaced_on_the_next_refresh(
    make_proxy: Callable[..., Proxy],
) -> None:
    """The kernel's OOM killer picks the biggest process, the scoring one: the proxy starts a new one, and
    takes in the thresholds of the model it loaded (a model retrained meanwhile brings its own)."""
    models = iter(["addon_fakes:FakeModel", "addon_fakes:RetrainedFakeModel"])
    proxy = make_proxy(scoring_factory=lambda settings: ProcessScoring(factory=next(models)))
    first = proxy.state.scoring
    assert first is not None
    [pid] = first.pids
    os.kill(pid, signal.SIGKILL)
    first.process.wait(30)
    proxy.refresh()
    second = proxy.state.scoring
    assert second is not None and second is not first and second.pids != [pid]
    page = f"<p>buy a {SCAM_PHRASE}</p>"
    assert score_now(second, ScoreRequest(PAGE, page)).alert == "scam"
    assert proxy.store.counters()["scoring.restarted"] == 1
    status = proxy.store.settings()["status.proxy"]
    assert (status["scoring"], status["model_version"]) == ("on", "test-2")
    assert proxy.state.analysis.policy.thresholds["scam"].alert == 0.6
