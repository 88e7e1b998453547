"""A small typed API over the SQLite alert database (WAL mode, busy timeout, versioned schema).

One :class:`AlertStore` wraps one connection; open one per thread (the addon's writer, each dashboard
request). Every write commits at once with ``synchronous=FULL``, so an alert that was added survives a crash.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from alert_store.kinds import KINDS, category_of, fallback_kind, more_serious
from alert_store.migrations import INCIDENTS_SCHEMA, SCHEMA_VERSION, migrate
from alert_store.records import (
    CATEGORIES,
    CHOICES,
    DIRECTIONS,
    SEVERITIES,
    SNIPPET_MAX_CHARS,
    SOURCES,
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
    Suppression,
)

BUSY_TIMEOUT_MS = 5000
CHILD_NOTE_MAX_CHARS = 1000
COUNTERPART_MAX_CHARS = 100
DAY = 86400.0
# A page's later detections fold into its incident while it was seen within the hour (one visit); a
# conversation's while it was active within three days (one conversation, however long it runs).
PAGE_FOLD_S = 3600.0
CONVERSATION_FOLD_S = 3 * DAY
# The proxy's names for a sender it could not name: not a counterpart worth showing.
GENERIC_SENDERS = frozenset({"", "other", "child"})
_RANK = {"low": 1, "medium": 2, "high": 3}
_INCIDENT_SELECT = (
    "SELECT *, (SELECT max(a.id) FROM alerts a WHERE a.incident_id = incidents.id) AS last_alert_id"
    " FROM incidents"
)


class StoreError(ValueError):
    """A value the store refuses, with the offending value in the message."""


def strip_query(url: str) -> str:
    """Keep scheme, host and path; drop query, fragment and any user:password part."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def site_of(url: str) -> str:
    """The host a page alert is about, lower case, without port or a leading ``www.``."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _check(value: object, allowed: Sequence[object], name: str) -> None:
    if value not in allowed:
        raise StoreError(f"{name} must be one of {tuple(allowed)}, not {value!r}")


class AlertStore:
    """Alerts, conversation windows, devices, children, settings, blind spots and counters."""

    def __init__(self, path: str | Path, *, timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=timeout_ms / 1000, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
        self._enable_wal()
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten with zeros rather than left in free pages: a deleted alert's text
        # must not stay readable in the file (see wipe_deleted for the write-ahead log).
        self._conn.execute("PRAGMA secure_delete = ON")
        if migrate(self._conn) < INCIDENTS_SCHEMA <= SCHEMA_VERSION:
            self._backfill_incident_kinds()
        with contextlib.suppress(OSError):  # a file we do not own: leave its mode alone
            self.path.chmod(0o600)

    def _enable_wal(self, attempts: int = 100) -> None:
        # Switching a new file to WAL needs an exclusive lock that SQLite does not wait for with the busy
        # timeout, so several processes opening a new database at once retry here.
        for attempt in range(attempts):
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05)

    # -- lifecycle -------------------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check``: ``"ok"`` for a healthy file."""
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    # -- alerts ----------------------------------------------------------------------------------------
    def add(self, alert: Alert) -> int:
        """Validate and insert an alert; return its id. The URL loses its query, the snippet is capped.

        The alert joins the incident it belongs to (the same page visit, or the same conversation with the
        same counterpart, seen recently on the same device) or opens a new one: see :meth:`_fold`.
        """
        _check(alert.category, CATEGORIES, "category")
        _check(alert.severity, SEVERITIES, "severity")
        _check(alert.direction, DIRECTIONS, "direction")
        _check(alert.source, SOURCES, "source")
        if alert.kind:
            _check(alert.kind, KINDS, "kind")
        if not 0.0 <= float(alert.probability) <= 1.0:
            raise StoreError(f"probability must be within [0, 1], not {alert.probability!r}")
        if not alert.child:
            raise StoreError("an alert needs a child profile name")
        created = alert.created_at or time.time()
        kind = alert.kind or fallback_kind(alert.category, alert.terms, alert.snippet)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            cur = self._conn.execute(
                """INSERT INTO alerts (created_at, child, device, direction, url, title, app, category,
                       probability, severity, snippet, terms, stages, model_version, source, child_note,
                       conversation_key, reviewed, false_positive, kind, counterpart)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    created,
                    alert.child,
                    alert.device,
                    alert.direction,
                    strip_query(alert.url),
                    alert.title[:300],
                    alert.app[:100],
                    alert.category,
                    float(alert.probability),
                    alert.severity,
                    alert.snippet[:SNIPPET_MAX_CHARS],
                    json.dumps(list(alert.terms)[:20]),
                    json.dumps(list(alert.stages)),
                    alert.model_version,
                    alert.source,
                    alert.child_note[:CHILD_NOTE_MAX_CHARS],
                    alert.conversation_key,
                    int(alert.reviewed),
                    int(alert.false_positive),
                    kind,
                    alert.counterpart[:COUNTERPART_MAX_CHARS],
                ),
            )
            alert_id = int(cur.lastrowid)
            self._fold(alert_id)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return alert_id

    def get(self, alert_id: int) -> Alert | None:
        row = self._conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _alert_from_row(row) if row else None

    def list(self, where: AlertFilter | None = None, *, limit: int = 50, offset: int = 0) -> list[Alert]:
        """Alerts matching ``where``, newest first."""
        clause, params = _where(where or AlertFilter())
        rows = self._conn.execute(
            f"SELECT * FROM alerts {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, max(0, int(limit)), max(0, int(offset))),
        ).fetchall()
        return [_alert_from_row(r) for r in rows]

    def count(self, where: AlertFilter | None = None) -> int:
        clause, params = _where(where or AlertFilter())
        return int(self._conn.execute(f"SELECT count(*) FROM alerts {clause}", params).fetchone()[0])

    def unread_count(self, child: str | None = None) -> int:
        """Incidents the parent has not reviewed yet (what the dashboard's badge shows)."""
        return self.count_incidents(IncidentFilter(child=child, reviewed=False))

    def mark_reviewed(self, alert_id: int, reviewed: bool = True) -> bool:
        cur = self._conn.execute("UPDATE alerts SET reviewed = ? WHERE id = ?", (int(reviewed), alert_id))
        return cur.rowcount == 1

    def mark_false_positive(self, alert_id: int, *, kind: str = "message", lang: str = "") -> bool:
        """Mark an alert a false positive and keep its snippet as benign feedback for retraining."""
        alert = self.get(alert_id)
        if alert is None:
            return False
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("UPDATE alerts SET false_positive = 1, reviewed = 1 WHERE id = ?", (alert_id,))
            if alert.snippet and alert.source == "model":
                self._conn.execute(
                    """INSERT INTO feedback (alert_id, created_at, label, category, kind, text, lang)
                       VALUES (?, ?, 'benign', ?, ?, ?, ?)""",
                    (alert_id, time.time(), alert.category, kind, alert.snippet, lang),
                )
            self.suppress_like(alert_id)  # the same site or sender stops alerting at once
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return True

    def suppress_like(self, alert_id: int) -> Suppression | None:
        """Stop alerts like this one for its child: the same site for a page, the same conversation (the
        same sender in the same app) for a chat. Child-raised help alerts are never silenced."""
        alert = self.get(alert_id)
        if alert is None or alert.source != "model":
            return None
        if alert.conversation_key:
            kind, value = "conversation", alert.conversation_key
        else:
            kind, value = "site", site_of(alert.url)
        if not value:
            return None
        self._conn.execute(
            """INSERT INTO suppressions (child, kind, value, created_at, alert_id) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (child, kind, value) DO NOTHING""",
            (alert.child, kind, value, time.time(), alert_id),
        )
        return Suppression(alert.child, kind, value)

    def suppressions(self) -> list[Suppression]:
        query = "SELECT child, kind, value FROM suppressions ORDER BY created_at"
        rows = self._conn.execute(query).fetchall()
        return [Suppression(r["child"], r["kind"], r["value"]) for r in rows]

    def delete(self, alert_id: int) -> bool:
        """Delete an alert with every copy of its text: its false-positive feedback and, for a chat alert,
        the stored turns of its conversation; then wipe the freed bytes from the files (wipe_deleted)."""
        alert = self.get(alert_id)
        if alert is None:
            return False
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DELETE FROM feedback WHERE alert_id = ?", (alert_id,))
            if alert.conversation_key:
                self._conn.execute(
                    "DELETE FROM conversation_messages WHERE conversation_key = ?", (alert.conversation_key,)
                )
            deleted = self._conn.execute("DELETE FROM alerts WHERE id = ?", (alert_id,)).rowcount == 1
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self.wipe_deleted()
        return deleted

    def wipe_deleted(self) -> bool:
        """Copy the write-ahead log into the database and truncate it to zero bytes, so that text just
        deleted (zeroed in the database by ``secure_delete``) no longer lingers in old page images in the
        ``-wal`` file. True when the checkpoint completed; False while another connection still reads an
        older snapshot (the next delete, purge or SQLite's own checkpoint finishes the job)."""
        busy, _log_pages, _moved = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def counts_by_day(self, since: float, until: float | None = None) -> list[DayCount]:
        """Alerts per UTC day, child and category in ``[since, until)``."""
        until = time.time() + 1 if until is None else until
        rows = self._conn.execute(
            """SELECT date(created_at, 'unixepoch') AS day, child, category, count(*) AS n
               FROM alerts WHERE created_at >= ? AND created_at < ?
               GROUP BY day, child, category ORDER BY day, child, category""",
            (since, until),
        ).fetchall()
        return [DayCount(r["day"], r["child"], r["category"], r["n"]) for r in rows]

    def recent_for_child(
        self, child: str, around: float, window_s: float = 6 * 3600, limit: int = 10
    ) -> list[Alert]:
        """The child's alerts within ``window_s`` of a moment: the context of a help request."""
        rows = self._conn.execute(
            """SELECT * FROM alerts WHERE child = ? AND created_at BETWEEN ? AND ?
               ORDER BY created_at DESC, id DESC LIMIT ?""",
            (child, around - window_s, around + window_s, limit),
        ).fetchall()
        return [_alert_from_row(r) for r in rows]

    def record_choice(
        self, *, child: str, choice: str, alert_id: int | None = None, device: str = "", url: str = ""
    ) -> int:
        """Record what a child chose on a warning page (``went_back``, ``continued``, ``told_parent``)."""
        _check(choice, CHOICES, "choice")
        if alert_id is not None and self.get(alert_id) is None:
            alert_id = None  # purged or deleted meanwhile: keep the choice, drop the link
        cur = self._conn.execute(
            "INSERT INTO choices (created_at, alert_id, child, device, url, choice)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), alert_id, child, device, strip_query(url), choice),
        )
        return int(cur.lastrowid)

    def choices_for(self, alert_id: int) -> list[str]:
        """The choices recorded for an alert, oldest first."""
        rows = self._conn.execute(
            "SELECT choice FROM choices WHERE alert_id = ? ORDER BY id", (alert_id,)
        ).fetchall()
        return [r["choice"] for r in rows]

    # -- incidents -----------------------------------------------------------------------------------
    def _fold(self, alert_id: int) -> int:
        """Join the just-inserted alert to its incident, or open one; return the incident's id.

        Fold key: a conversation by child, device, conversation key and counterpart (the counterpart only
        when the proxy named one); a page by child, device and URL (scheme, host, path); a help request
        never folds. An
        incident takes later alerts while it was last seen within the fold window and is not a false alarm.
        Severity and kind only rise; a rise re-opens a reviewed incident, since it is news to the parent.
        """
        a = self.get(alert_id)
        assert a is not None and a.id is not None
        child = "" if a.child == UNASSIGNED_CHILD else a.child
        if not child and a.device:
            owner = self._conn.execute("SELECT child FROM devices WHERE device = ?", (a.device,)).fetchone()
            child = (owner["child"] or "") if owner else ""
        counterpart = a.counterpart or self._latest_sender(a.conversation_key, a.created_at)
        if a.category == "help":
            key, window = f"help|{a.id}", 0.0
        elif a.conversation_key:
            key = f"conversation|{a.child}|{a.device}|{a.conversation_key}|{a.counterpart}"
            window = CONVERSATION_FOLD_S
        else:
            key, window = f"page|{a.child}|{a.device}|{a.url}", PAGE_FOLD_S
        row = None
        if window:
            row = self._conn.execute(
                """SELECT * FROM incidents WHERE fold_key = ? AND false_positive = 0 AND last_seen >= ?
                   ORDER BY id DESC LIMIT 1""",
                (key, a.created_at - window),
            ).fetchone()
        if row is None:
            cur = self._conn.execute(
                """INSERT INTO incidents (fold_key, child, device, category, kind, severity, first_seen,
                       last_seen, detections, url, title, app, conversation_key, counterpart, source,
                       child_note, reviewed, false_positive)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    key,
                    child,
                    a.device,
                    category_of(a.kind),
                    a.kind,
                    a.severity,
                    a.created_at,
                    a.created_at,
                    a.url,
                    a.title,
                    a.app,
                    a.conversation_key,
                    counterpart[:COUNTERPART_MAX_CHARS],
                    a.source,
                    a.child_note,
                    int(a.reviewed),
                    int(a.false_positive),
                ),
            )
            incident_id = int(cur.lastrowid)
        else:
            incident_id = int(row["id"])
            rises = _RANK[a.severity] > _RANK[row["severity"]]
            kind = more_serious(row["kind"] or a.kind, a.kind)
            self._conn.execute(
                """UPDATE incidents SET severity = ?, kind = ?, category = ?, detections = detections + 1,
                       first_seen = min(first_seen, ?), last_seen = max(last_seen, ?),
                       reviewed = CASE WHEN ? THEN 0 ELSE reviewed END,
                       child = CASE WHEN child = '' THEN ? ELSE child END,
                       url = CASE WHEN url = '' THEN ? ELSE url END,
                       title = CASE WHEN title = '' THEN ? ELSE title END,
                       app = CASE WHEN app = '' THEN ? ELSE app END,
                       counterpart = CASE WHEN counterpart = '' THEN ? ELSE counterpart END
                   WHERE id = ?""",
                (
                    a.severity if rises else row["severity"],
                    kind,
                    category_of(kind),
                    a.created_at,
                    a.created_at,
                    int(rises or kind != row["kind"]),
                    child,
                    a.url,
                    a.title,
                    a.app,
                    counterpart[:COUNTERPART_MAX_CHARS],
                    incident_id,
                ),
            )
        self._conn.execute("UPDATE alerts SET incident_id = ? WHERE id = ?", (incident_id, alert_id))
        return incident_id

    def _latest_sender(self, conversation_key: str, until: float) -> str:
        """The sender of the conversation's latest incoming turn up to ``until``: the counterpart."""
        if not conversation_key:
            return ""
        row = self._conn.execute(
            """SELECT sender FROM conversation_messages
               WHERE conversation_key = ? AND direction = 'incoming' AND created_at <= ?
               ORDER BY id DESC LIMIT 1""",
            (conversation_key, until + 1.0),
        ).fetchone()
        return row["sender"] if row and row["sender"] not in GENERIC_SENDERS else ""

    def incident(self, incident_id: int) -> Incident | None:
        row = self._conn.execute(f"{_INCIDENT_SELECT} WHERE id = ?", (incident_id,)).fetchone()
        return _incident_from_row(row) if row else None

    def incidents(
        self, where: IncidentFilter | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[Incident]:
        """Incidents matching ``where``, the most recently active first."""
        clause, params = _incident_where(where or IncidentFilter())
        rows = self._conn.execute(
            f"{_INCIDENT_SELECT} {clause} ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",
            (*params, max(0, int(limit)), max(0, int(offset))),
        ).fetchall()
        return [_incident_from_row(r) for r in rows]

    def count_incidents(self, where: IncidentFilter | None = None) -> int:
        clause, params = _incident_where(where or IncidentFilter())
        return int(self._conn.execute(f"SELECT count(*) FROM incidents {clause}", params).fetchone()[0])

    def incident_of(self, alert_id: int) -> int | None:
        """The incident an alert belongs to."""
        row = self._conn.execute("SELECT incident_id FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return int(row["incident_id"]) if row and row["incident_id"] is not None else None

    def incident_alerts(self, incident_id: int) -> list[Alert]:
        """The detections folded into an incident, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM alerts WHERE incident_id = ? ORDER BY created_at, id", (incident_id,)
        ).fetchall()
        return [_alert_from_row(r) for r in rows]

    def incident_choices(self, incident_id: int) -> list[Choice]:
        """What the child chose on the warning pages of this incident, oldest first."""
        rows = self._conn.execute(
            """SELECT c.* FROM choices c JOIN alerts a ON a.id = c.alert_id
               WHERE a.incident_id = ? ORDER BY c.created_at, c.id""",
            (incident_id,),
        ).fetchall()
        return [Choice(**{f.name: r[f.name] for f in fields(Choice)}) for r in rows]

    def incident_transcript(self, incident_id: int, limit: int = 30) -> list[ChatTurn]:
        """The kept turns of an incident's conversation, oldest first (empty for a page)."""
        incident = self.incident(incident_id)
        if incident is None or not incident.conversation_key:
            return []
        return self.conversation(incident.conversation_key, limit)

    def mark_incident_reviewed(self, incident_id: int, reviewed: bool = True) -> bool:
        """Mark an incident and every alert in it (not) reviewed."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            n = self._conn.execute(
                "UPDATE incidents SET reviewed = ? WHERE id = ?", (int(reviewed), incident_id)
            ).rowcount
            self._conn.execute(
                "UPDATE alerts SET reviewed = ? WHERE incident_id = ?", (int(reviewed), incident_id)
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return n == 1

    def mark_incidents_reviewed(self, incident_ids: Sequence[int]) -> int:
        """Mark several incidents reviewed at once; return how many there were."""
        return sum(self.mark_incident_reviewed(int(i)) for i in dict.fromkeys(incident_ids))

    def mark_incident_false_positive(self, incident_id: int, *, lang: str = "") -> bool:
        """Mark an incident a false alarm; each distinct evidence text is kept once as benign feedback."""
        incident = self.incident(incident_id)
        if incident is None:
            return False
        if incident.false_positive:  # already kept as feedback once
            return True
        alerts = self.incident_alerts(incident_id)
        seen: set[str] = set()
        for alert in alerts:
            assert alert.id is not None
            kind = "conversation" if alert.conversation_key else "message"
            if alert.snippet in seen:
                self._conn.execute(
                    "UPDATE alerts SET false_positive = 1, reviewed = 1 WHERE id = ?", (alert.id,)
                )
            else:
                self.mark_false_positive(alert.id, kind=kind, lang=lang)
            seen.add(alert.snippet)
        self._conn.execute(
            "UPDATE incidents SET false_positive = 1, reviewed = 1 WHERE id = ?", (incident_id,)
        )
        return True

    def delete_incident(self, incident_id: int) -> bool:
        """Delete an incident with everything it holds: its alerts, their false-alarm feedback, the child's
        choices on them, and the kept turns of its conversation (unless another incident still shows that
        conversation); then wipe the freed bytes from the files (wipe_deleted)."""
        incident = self.incident(incident_id)
        if incident is None:
            return False
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("choices", "feedback"):
                self._conn.execute(
                    f"DELETE FROM {table} WHERE alert_id IN (SELECT id FROM alerts WHERE incident_id = ?)",
                    (incident_id,),
                )
            self._conn.execute("DELETE FROM alerts WHERE incident_id = ?", (incident_id,))
            self._conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
            if (
                incident.conversation_key
                and not self._conn.execute(
                    "SELECT 1 FROM incidents WHERE conversation_key = ? LIMIT 1", (incident.conversation_key,)
                ).fetchone()
            ):
                self._conn.execute(
                    "DELETE FROM conversation_messages WHERE conversation_key = ?",
                    (incident.conversation_key,),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self.wipe_deleted()
        return True

    def incident_counts_by_day(self, since: float, until: float | None = None) -> list[KindCount]:
        """Incidents per UTC day (of first sight), child, category and kind in ``[since, until)``."""
        until = time.time() + 1 if until is None else until
        rows = self._conn.execute(
            """SELECT date(first_seen, 'unixepoch') AS day, child, category, kind, count(*) AS n
               FROM incidents WHERE first_seen >= ? AND first_seen < ? AND false_positive = 0
               GROUP BY day, child, category, kind ORDER BY day, child, category, kind""",
            (since, until),
        ).fetchall()
        return [KindCount(r["day"], r["child"], r["category"], r["kind"], r["n"]) for r in rows]

    def _backfill_incident_kinds(self) -> None:
        """Give incidents folded from alerts written before kinds were stored the most serious fallback
        kind of their alerts (run once, right after migration 5)."""
        self._conn.execute("BEGIN IMMEDIATE")  # one commit, not one per incident
        try:
            todo = self._conn.execute("SELECT id FROM incidents WHERE kind = ''").fetchall()
            for row in todo:
                kind = ""
                for alert in self.incident_alerts(row["id"]):
                    kind = more_serious(kind or alert.kind, alert.kind)
                if kind:
                    self._conn.execute(
                        "UPDATE incidents SET kind = ?, category = ? WHERE id = ?",
                        (kind, category_of(kind), row["id"]),
                    )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    # -- conversation windows -------------------------------------------------------------------------
    def append_turn(self, conversation_key: str, turn: ChatTurn, keep_last: int = 30) -> list[ChatTurn]:
        """Add a message to a conversation, keep only its last ``keep_last``, return them oldest first."""
        _check(turn.direction, DIRECTIONS, "direction")
        now = turn.created_at or time.time()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                """INSERT INTO conversation_messages (conversation_key, sender, direction, text, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (conversation_key, turn.sender, turn.direction, turn.text[:2000], now),
            )
            self._conn.execute(
                """DELETE FROM conversation_messages WHERE conversation_key = ? AND id <= (
                       SELECT id FROM conversation_messages WHERE conversation_key = ?
                       ORDER BY id DESC LIMIT 1 OFFSET ?)""",
                (conversation_key, conversation_key, max(1, keep_last)),
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self.conversation(conversation_key, keep_last)

    def conversation(self, conversation_key: str, limit: int = 30) -> list[ChatTurn]:
        rows = self._conn.execute(
            """SELECT sender, text, direction, created_at FROM conversation_messages
               WHERE conversation_key = ? ORDER BY id DESC LIMIT ?""",
            (conversation_key, limit),
        ).fetchall()
        return [ChatTurn(r["sender"], r["text"], r["direction"], r["created_at"]) for r in reversed(rows)]

    # -- feedback -------------------------------------------------------------------------------------
    def feedback(self, limit: int | None = None) -> list[FeedbackItem]:
        sql = "SELECT * FROM feedback ORDER BY id"
        rows = self._conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        return [FeedbackItem(**{f.name: r[f.name] for f in fields(FeedbackItem)}) for r in rows]

    def iter_feedback_jsonl(self) -> Iterator[dict[str, Any]]:
        """Feedback in the training format of ``notalone evaluate`` / ``notalone train --extra``."""
        for item in self.feedback():
            record: dict[str, Any] = {
                "id": f"feedback-{item.id}",
                "kind": item.kind,
                "text": item.text,
                "label": item.label,
                "flagged_as": item.category,
            }
            if item.lang:
                record["lang"] = item.lang
            yield record

    # -- devices and children -------------------------------------------------------------------------
    def touch_device(self, device: str, address: str = "", now: float | None = None) -> None:
        """Record that a device was seen (first and last time, last address)."""
        now = now or time.time()
        self._conn.execute(
            """INSERT INTO devices (device, child, first_seen, last_seen, address) VALUES (?, NULL, ?, ?, ?)
               ON CONFLICT(device) DO UPDATE SET last_seen = excluded.last_seen,
                   address = CASE WHEN excluded.address != '' THEN excluded.address ELSE address END""",
            (device, now, now, address),
        )

    def devices(self) -> list[Device]:
        rows = self._conn.execute("SELECT * FROM devices ORDER BY last_seen DESC").fetchall()
        return [Device(**{f.name: r[f.name] for f in fields(Device)}) for r in rows]

    def device(self, device: str) -> Device | None:
        row = self._conn.execute("SELECT * FROM devices WHERE device = ?", (device,)).fetchone()
        return Device(**{f.name: row[f.name] for f in fields(Device)}) if row else None

    def assign_device(self, device: str, child: str | None, label: str | None = None) -> None:
        now = time.time()
        self._conn.execute(
            """INSERT INTO devices (device, child, first_seen, last_seen, label) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(device) DO UPDATE SET child = excluded.child,
                   label = CASE WHEN ? IS NULL THEN label ELSE excluded.label END""",
            (device, child, now, now, label or "", label),
        )
        if child:
            self._assign_earlier(device, child)

    def _assign_earlier(self, device: str, child: str) -> None:
        """A device's incidents and alerts from before it was assigned become the child's."""
        self._conn.execute("UPDATE incidents SET child = ? WHERE device = ? AND child = ''", (child, device))
        self._conn.execute(
            "UPDATE alerts SET child = ? WHERE device = ? AND child = ?", (child, device, UNASSIGNED_CHILD)
        )

    def add_child(self, name: str, settings: dict[str, Any] | None = None) -> None:
        name = name.strip()
        if not name or len(name) > 60:
            raise StoreError(f"a child's name must be 1 to 60 characters, not {name!r}")
        self._conn.execute(
            "INSERT INTO children (name, created_at, settings) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET settings = excluded.settings",
            (name, time.time(), json.dumps(settings or {})),
        )

    def remove_child(self, name: str) -> bool:
        self._conn.execute("UPDATE devices SET child = NULL WHERE child = ?", (name,))
        return self._conn.execute("DELETE FROM children WHERE name = ?", (name,)).rowcount == 1

    def children(self) -> dict[str, dict[str, Any]]:
        """Child profile names with their per-child settings (for example sensitivity per category)."""
        rows = self._conn.execute("SELECT name, settings FROM children ORDER BY created_at, name").fetchall()
        return {r["name"]: json.loads(r["settings"]) for r in rows}

    # -- settings --------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Settings the parent changed in the dashboard; they override config.toml at run time."""
        rows = self._conn.execute("SELECT key, value FROM settings").fetchall()
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def set_setting(self, key: str, value: Any) -> None:
        self._conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def delete_setting(self, key: str) -> bool:
        """Forget a stored setting (for a parent's choice: what is below it is in force again)."""
        return self._conn.execute("DELETE FROM settings WHERE key = ?", (key,)).rowcount == 1

    # -- the parent's dashboard sessions ---------------------------------------------------------------
    def add_session(self, token_hash: str, now: float | None = None) -> None:
        """Record a new dashboard session (by a hash of its token, never the token itself)."""
        self._conn.execute(
            "INSERT INTO dashboard_sessions (token_hash, created_at) VALUES (?, ?)",
            (token_hash, now or time.time()),
        )

    def session_active(self, token_hash: str, max_age_s: float, now: float | None = None) -> bool:
        """True while the session exists and is younger than ``max_age_s``."""
        row = self._conn.execute(
            "SELECT created_at FROM dashboard_sessions WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        return row is not None and row["created_at"] > (now or time.time()) - max_age_s

    def end_session(self, token_hash: str) -> bool:
        return (
            self._conn.execute("DELETE FROM dashboard_sessions WHERE token_hash = ?", (token_hash,)).rowcount
            == 1
        )

    def end_sessions(self, older_than_s: float | None = None, now: float | None = None) -> int:
        """End every session, or only those older than ``older_than_s``; return how many ended."""
        if older_than_s is None:
            return self._conn.execute("DELETE FROM dashboard_sessions").rowcount
        cutoff = (now or time.time()) - older_than_s
        return self._conn.execute("DELETE FROM dashboard_sessions WHERE created_at <= ?", (cutoff,)).rowcount

    # -- blind spots and counters -----------------------------------------------------------------------
    def record_blind_spot(self, kind: str, host: str, device: str, now: float | None = None) -> None:
        _check(kind, ("tls_failed", "doh"), "kind")
        now = now or time.time()
        self._conn.execute(
            """INSERT INTO blind_spots (kind, host, device, count, first_seen, last_seen)
               VALUES (?, ?, ?, 1, ?, ?)
               ON CONFLICT(kind, host, device)
               DO UPDATE SET count = count + 1, last_seen = excluded.last_seen""",
            (kind, host[:255], device, now, now),
        )

    def blind_spots(self, since: float = 0.0) -> list[BlindSpot]:
        rows = self._conn.execute(
            "SELECT * FROM blind_spots WHERE last_seen >= ? ORDER BY count DESC, host", (since,)
        ).fetchall()
        return [BlindSpot(**{f.name: r[f.name] for f in fields(BlindSpot)}) for r in rows]

    def increment(self, name: str, by: int = 1) -> None:
        self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def counters(self) -> dict[str, int]:
        return {r["name"]: r["value"] for r in self._conn.execute("SELECT name, value FROM counters")}

    # -- retention ------------------------------------------------------------------------------------
    def purge_older_than(self, days: float, now: float | None = None) -> PurgeResult:
        """Delete alerts, conversation messages, feedback and blind spots older than ``days``."""
        if days < 0:
            raise StoreError(f"retention days must be >= 0, not {days!r}")
        cutoff = (now or time.time()) - days * DAY
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = PurgeResult(
                alerts=self._conn.execute("DELETE FROM alerts WHERE created_at < ?", (cutoff,)).rowcount,
                conversation_messages=self._conn.execute(
                    "DELETE FROM conversation_messages WHERE created_at < ?", (cutoff,)
                ).rowcount,
                feedback=self._conn.execute("DELETE FROM feedback WHERE created_at < ?", (cutoff,)).rowcount,
                blind_spots=self._conn.execute(
                    "DELETE FROM blind_spots WHERE last_seen < ?", (cutoff,)
                ).rowcount,
                extra={
                    "choices": self._conn.execute(
                        "DELETE FROM choices WHERE created_at < ?", (cutoff,)
                    ).rowcount
                },
            )
            # Incidents whose every alert is gone go with them (derived rows: not counted as purged).
            self._conn.execute(
                "DELETE FROM incidents WHERE NOT EXISTS"
                " (SELECT 1 FROM alerts WHERE alerts.incident_id = incidents.id)"
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        if result.total or any(result.extra.values()):
            self.wipe_deleted()
        return result


def _filter_where(
    f: AlertFilter | IncidentFilter, columns: Sequence[str], time_column: str
) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause of an alert or incident filter: equality on ``columns``, the review flags, the
    pinned help requests, and the time window on ``time_column``."""
    terms: list[str] = []
    params: list[Any] = []
    for column in columns:
        value = getattr(f, column)
        if value is not None:
            terms.append(f"{column} = ?")
            params.append(value)
    for column in ("reviewed", "false_positive"):
        value = getattr(f, column)
        if value is not None:
            terms.append(f"{column} = ?")
            params.append(int(value))
    if f.pinned is not None:
        terms.append(("" if f.pinned else "NOT ") + "(category = 'help' AND reviewed = 0)")
    if f.since is not None:
        terms.append(f"{time_column} >= ?")
        params.append(f.since)
    if f.until is not None:
        terms.append(f"{time_column} < ?")
        params.append(f.until)
    return ("WHERE " + " AND ".join(terms) if terms else ""), tuple(params)


def _where(f: AlertFilter) -> tuple[str, tuple[Any, ...]]:
    return _filter_where(f, ("child", "category", "severity", "source"), "created_at")


def _alert_from_row(row: sqlite3.Row) -> Alert:
    values = {f.name: row[f.name] for f in fields(Alert)}
    values["terms"] = tuple(json.loads(values["terms"]))
    values["stages"] = tuple(json.loads(values["stages"]))
    values["reviewed"] = bool(values["reviewed"])
    values["false_positive"] = bool(values["false_positive"])
    if not values["kind"]:  # written before kinds were stored
        values["kind"] = fallback_kind(values["category"], values["terms"], values["snippet"])
    return Alert(**values)


def _incident_from_row(row: sqlite3.Row) -> Incident:
    values = {f.name: row[f.name] for f in fields(Incident)}
    values["reviewed"] = bool(values["reviewed"])
    values["false_positive"] = bool(values["false_positive"])
    values["kind"] = values["kind"] or fallback_kind(values["category"])
    return Incident(**values)


def _incident_where(f: IncidentFilter) -> tuple[str, tuple[Any, ...]]:
    return _filter_where(f, ("child", "category", "kind", "severity", "device"), "last_seen")


def day_start(ts: float) -> float:
    """The start of the UTC day containing ``ts``."""
    d = datetime.fromtimestamp(ts, UTC)
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()
