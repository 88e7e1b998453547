"""Text in, scam and grooming risk out: normalisation, features, the trained model and its scoring."""

from classifier.model import ModelIntegrityError, ModelLoadError, RiskModel
from classifier.records import ChatMessage, PageText, Score

__all__ = ["ChatMessage", "ModelIntegrityError", "ModelLoadError", "PageText", "RiskModel", "Score"]
