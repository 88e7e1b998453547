"""An incident for a parent's eyes: the conversation as it happened with the risky turns marked, how the
incident grew (when and why its severity rose), and the evidence file with its checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from alert_store import Alert, AlertStore, ChatTurn, Incident
from alert_store.export import evidence_record
from parent_ui.text import highlight

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
# A turn is the one that triggered a detection when it is the latest turn up to the detection's time;
# the proxy writes the alert right after scoring, so a little slack covers a slow worker.
TRIGGER_SLACK_S = 2.0


@dataclass(frozen=True)
class TranscriptLine:
    sender: str
    from_child: bool
    created_at: float
    text: Markup  # escaped, the decision's own evidence marked
    risky: bool
    stages: tuple[str, ...]  # stages first seen at this turn


@dataclass(frozen=True)
class Step:
    """One detection in the incident's history: ``rose_from`` is set when it raised the severity."""

    at: float
    severity: str
    kind: str
    terms: tuple[str, ...]
    new_stages: tuple[str, ...]
    opened: bool
    rose_from: str = ""


def history(alerts: Sequence[Alert]) -> list[Step]:
    """The detections oldest first, each saying whether it opened the incident or raised its severity."""
    steps: list[Step] = []
    top = ""
    seen: set[str] = set()
    for i, a in enumerate(alerts):
        new = tuple(s for s in a.stages if s not in seen)
        seen.update(a.stages)
        rose = top if top and SEVERITY_RANK[a.severity] > SEVERITY_RANK[top] else ""
        steps.append(Step(a.created_at, a.severity, a.kind, a.terms, new, i == 0, rose))
        if not top or SEVERITY_RANK[a.severity] > SEVERITY_RANK[top]:
            top = a.severity
    return steps


def transcript(turns: Sequence[ChatTurn], alerts: Sequence[Alert]) -> list[TranscriptLine]:
    """The kept turns in order, each escaped, the detections' evidence words marked, the turn that
    triggered a detection marked risky with the stages first seen there."""
    terms = tuple(dict.fromkeys(t for a in alerts for t in a.terms))
    trigger_stages: dict[int, list[str]] = {}
    for step, alert in zip(history(alerts), alerts, strict=True):
        index = _trigger_turn(turns, alert.created_at)
        if index is not None:
            trigger_stages.setdefault(index, []).extend(step.new_stages)
    lines = []
    for i, turn in enumerate(turns):
        marked = highlight(turn.text, terms)
        lines.append(
            TranscriptLine(
                sender=turn.sender,
                from_child=turn.direction == "outgoing",
                created_at=turn.created_at,
                text=marked,
                risky=i in trigger_stages or "<mark>" in marked,
                stages=tuple(dict.fromkeys(trigger_stages.get(i, ()))),
            )
        )
    return lines


def _trigger_turn(turns: Sequence[ChatTurn], at: float) -> int | None:
    latest = None
    for i, turn in enumerate(turns):
        if turn.created_at <= at + TRIGGER_SLACK_S:
            latest = i
    return latest


@dataclass(frozen=True)
class EvidenceFile:
    name: str
    body: bytes
    sha256: str


def evidence_file(store: AlertStore, incident: Incident) -> EvidenceFile:
    """The incident as a JSON file for the police or the school, and the SHA-256 of exactly those bytes.

    Deterministic (no export time inside), so the printable page and the file name the same checksum."""
    record = evidence_record(store, incident)
    body = (json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return EvidenceFile(f"notalone-incident-{incident.id}.json", body, hashlib.sha256(body).hexdigest())
