"""Test-only mitmproxy script: every classifier scoring call raises, to prove the NotAlone addon fails open.

Loaded after the addon with ``mitmdump -s proxy_addon/addon.py -s tests/e2e/exploding_scoring.py``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from classifier.model import RiskModel


def _explode(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("scoring exploded (e2e test)")


class ExplodingScoring:
    def load(self, loader: Any) -> None:
        names = ("score_page", "score_page_text", "score_message", "score_messages", "score_conversation")
        for name in names:
            setattr(RiskModel, name, _explode)


addons = [ExplodingScoring()]
