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

from alert_store.migrations import migrate
from alert_store.records import (
    CATEGORIES,
    CHOICES,
    DIRECTIONS,
    SEVERITIES,
    SNIPPET_MAX_CHARS,
    SOURCES,
    Alert,
    AlertFilter,
    BlindSpot,
    ChatTurn,
    DayCount,
    Device,
    FeedbackItem,
    PurgeResult,
    Suppression,
)

BUSY_TIMEOUT_MS = 5000
CHILD_NOTE_MAX_CHARS = 1000
DAY = 86400.0


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
        migrate(self._conn)
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
        """Validate and insert an alert; return its id. The URL loses its query, the snippet is capped."""
        _check(alert.category, CATEGORIES, "category")
        _check(alert.severity, SEVERITIES, "severity")
        _check(alert.direction, DIRECTIONS, "direction")
        _check(alert.source, SOURCES, "source")
        if not 0.0 <= float(alert.probability) <= 1.0:
            raise StoreError(f"probability must be within [0, 1], not {alert.probability!r}")
        if not alert.child:
            raise StoreError("an alert needs a child profile name")
        created = alert.created_at or time.time()
        cur = self._conn.execute(
            """INSERT INTO alerts (created_at, child, device, direction, url, title, app, category,
                   probability, severity, snippet, terms, stages, model_version, source, child_note,
                   conversation_key, reviewed, false_positive)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
            ),
        )
        return int(cur.lastrowid)

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
        return self.count(AlertFilter(child=child, reviewed=False))

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
        return self._conn.execute("DELETE FROM alerts WHERE id = ?", (alert_id,)).rowcount == 1

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
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return result


def _where(f: AlertFilter) -> tuple[str, tuple[Any, ...]]:
    terms: list[str] = []
    params: list[Any] = []
    for column in ("child", "category", "severity", "source"):
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
        terms.append("created_at >= ?")
        params.append(f.since)
    if f.until is not None:
        terms.append("created_at < ?")
        params.append(f.until)
    return ("WHERE " + " AND ".join(terms) if terms else ""), tuple(params)


def _alert_from_row(row: sqlite3.Row) -> Alert:
    values = {f.name: row[f.name] for f in fields(Alert)}
    values["terms"] = tuple(json.loads(values["terms"]))
    values["stages"] = tuple(json.loads(values["stages"]))
    values["reviewed"] = bool(values["reviewed"])
    values["false_positive"] = bool(values["false_positive"])
    return Alert(**values)


def day_start(ts: float) -> float:
    """The start of the UTC day containing ``ts``."""
    d = datetime.fromtimestamp(ts, UTC)
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()
