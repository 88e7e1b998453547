"""The alert store: the one SQLite database the proxy addon writes and the parent dashboard reads."""

from alert_store.paths import DataDir, default_data_dir
from alert_store.records import (
    CATEGORIES,
    CHOICES,
    DEFAULT_ALLOWED_CLIENTS,
    DIRECTIONS,
    SEVERITIES,
    Alert,
    AlertFilter,
    BlindSpot,
    ChatTurn,
    DayCount,
    Device,
    FeedbackItem,
    PurgeResult,
    SettingKey,
    Suppression,
)
from alert_store.store import AlertStore, StoreError

__all__ = [
    "CATEGORIES",
    "CHOICES",
    "DEFAULT_ALLOWED_CLIENTS",
    "DIRECTIONS",
    "SEVERITIES",
    "Alert",
    "AlertFilter",
    "AlertStore",
    "BlindSpot",
    "ChatTurn",
    "DataDir",
    "DayCount",
    "Device",
    "FeedbackItem",
    "PurgeResult",
    "SettingKey",
    "StoreError",
    "Suppression",
    "default_data_dir",
]
