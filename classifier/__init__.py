"""Text in, scam and grooming risk out: normalisation, features, the trained model and its scoring.

The public names are imported lazily, so that ``python -m classifier.corpus`` (the corpus check) and other
light tools do not load scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ChatMessage": "classifier.records",
    "PageText": "classifier.records",
    "Score": "classifier.records",
    "ModelIntegrityError": "classifier.model",
    "ModelLoadError": "classifier.model",
    "RiskModel": "classifier.model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'classifier' has no attribute {name!r}")
