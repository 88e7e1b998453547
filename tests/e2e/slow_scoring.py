"""Test-only model for the scoring process: the shipped model, except that a page containing "hold-me" is
held in scoring until the test creates the file ``$NOTALONE_TEST_RELEASE`` (``$NOTALONE_TEST_HELD`` is
created when the hold begins). Named with
``--set notalone_model_factory=tests.e2e.slow_scoring:slow_model``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

HOLD_LIMIT_S = 120.0  # a safety net for a test that dies half way; the test itself never waits on it


def slow_model() -> Any:
    from classifier.model import RiskModel

    model = RiskModel.load()
    score_page = model.score_page
    held, release = Path(os.environ["NOTALONE_TEST_HELD"]), Path(os.environ["NOTALONE_TEST_RELEASE"])

    def holding_score_page(html: str, url: str = "") -> Any:
        if "hold-me" in html:
            held.touch()
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return score_page(html, url=url)

    model.score_page = holding_score_page
    return model
