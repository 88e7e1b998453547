"""A 1,000-flow soak through a real proxy from 8 concurrent clients while the dashboard is read: no errors,
flat memory, and every alert that should exist exists (the 10,000-flow version is ``bench/soak_bench.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from soak_bench import soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_soak_loses_no_alert_and_no_flow() -> None:
    figures = {f["metric"]: f["value"] for f in soak(flows=1_000, clients=8)}
    assert figures["client errors"] == 0
    assert figures["dashboard errors"] == 0
    assert figures["dashboard reads during the soak"] > 0
    assert figures["alerts expected"] == 100
    assert figures["alerts found / expected"] == 1
    assert figures["RSS end / start"] <= 1.5
