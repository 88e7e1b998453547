"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.datasets import DEFAULT_SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DEFAULT_SHARED_DATA.is_dir():
        pytest.fail(f"the shared datasets are expected beside the project at {DEFAULT_SHARED_DATA}")
    return DEFAULT_SHARED_DATA


@pytest.fixture(scope="session")
def shipped_model():
    """The committed model in models/ (its integrity is checked on load)."""
    from classifier.model import RiskModel

    return RiskModel.load()
