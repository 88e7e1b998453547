"""The alert store: the one SQLite database the proxy addon writes and the parent dashboard reads."""

from alert_store.kinds import KINDS
from alert_store.paths import DataDir, default_data_dir
from alert_store.records import (
    CATEGORIES,
    CHOICES,
    DEFAULT_ALLOWED_CLIENTS,
    DIRECTIONS,
    SEVERITIES,
    UNASSIGNED_CHILD,
    Alert,
    AlertFilter,
    BlindSpot,
    ChatTurn,
    Choice,
    DayCount,
    Device,
    FeedbackItem,
    Incident,
    IncidentFilter,
    KindCount,
    PurgeResult,
    SettingKey,
)
from alert_store.store import AlertStore, StoreError

__all__ = [
    "CATEGORIES",
    "CHOICES",
    "DEFAULT_ALLOWED_CLIENTS",
    "DIRECTIONS",
    "KINDS",
    "SEVERITIES",
    "UNASSIGNED_CHILD",
    "Alert",
    "AlertFilter",
    "AlertStore",
    "BlindSpot",
    "ChatTurn",
    "Choice",
    "DataDir",
    "DayCount",
    "Device",
    "FeedbackItem",
    "Incident",
    "IncidentFilter",
    "KindCount",
    "PurgeResult",
    "SettingKey",
    "StoreError",
    "default_data_dir",
]
