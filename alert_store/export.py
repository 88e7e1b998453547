"""An incident as plain data: what ``notalone alerts --json`` prints and what the evidence file holds.

Only what the store keeps: the incident, its detections, the child's choices and the conversation's kept
turns. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alert_store.records import Incident
from alert_store.store import AlertStore


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def incident_record(store: AlertStore, incident: Incident) -> dict[str, Any]:
    """The incident in the shape of ``notalone alerts --json``: ``transcript`` only for a conversation."""
    record: dict[str, Any] = {
        "id": incident.id,
        "category": incident.category,
        "kind": incident.kind,
        "severity": incident.severity,
        "child": incident.child,
        "device": incident.device,
        "first_seen": iso(incident.first_seen),
        "last_seen": iso(incident.last_seen),
        "detections": incident.detections,
        "url": incident.url,
        "app": incident.app,
        "counterpart": incident.counterpart,
        "choices": [
            {"choice": c.choice, "time": iso(c.created_at), "url": c.url}
            for c in store.incident_choices(incident.id)
        ],
    }
    if incident.is_conversation:
        record["transcript"] = [
            {
                "from": turn.sender,
                "direction": "out" if turn.direction == "outgoing" else "in",
                "time": iso(turn.created_at),
                "text": turn.text,
            }
            for turn in store.incident_transcript(incident.id)
        ]
    return record


def evidence_record(store: AlertStore, incident: Incident) -> dict[str, Any]:
    """Everything the evidence file holds: the record above, the page title, each detection with the words
    that drove it, and the child's own words for a help request."""
    record = incident_record(store, incident)
    record["title"] = incident.title
    record["reviewed"] = incident.reviewed
    record["false_alarm"] = incident.false_positive
    if incident.child_note:
        record["child_words"] = incident.child_note
    record["detections_detail"] = [
        {
            "time": iso(a.created_at),
            "category": a.category,
            "kind": a.kind,
            "severity": a.severity,
            "probability": round(a.probability, 3),
            "url": a.url,
            "evidence": list(a.terms),
            "stages": list(a.stages),
            "snippet": a.snippet,
            "model_version": a.model_version,
        }
        for a in store.incident_alerts(incident.id)
    ]
    return record
