"""Test-only model for the scoring process: the shipped model whose every scoring call raises, to prove the
proxy fails open. Named with ``--set notalone_model_factory=tests.e2e.exploding_scoring:exploding_model``."""

from __future__ import annotations

from typing import Any, NoReturn


def _explode(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("scoring exploded (e2e test)")


def exploding_model() -> Any:
    from classifier.model import RiskModel

    model = RiskModel.load()
    for name in ("score_page", "score_page_text", "score_message", "score_messages", "score_conversation"):
        setattr(model, name, _explode)
    return model
