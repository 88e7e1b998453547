"""Schema migrations, applied in order; ``PRAGMA user_version`` records how far a database has come."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        child TEXT NOT NULL,
        device TEXT NOT NULL DEFAULT '',
        direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
        url TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        app TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL CHECK (category IN ('scam', 'grooming', 'help')),
        probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
        snippet TEXT NOT NULL CHECK (length(snippet) <= 500),
        terms TEXT NOT NULL DEFAULT '[]',
        stages TEXT NOT NULL DEFAULT '[]',
        model_version TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT 'model' CHECK (source IN ('model', 'child')),
        child_note TEXT NOT NULL DEFAULT '' CHECK (length(child_note) <= 1000),
        conversation_key TEXT NOT NULL DEFAULT '',
        reviewed INTEGER NOT NULL DEFAULT 0,
        false_positive INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX alerts_by_time ON alerts (created_at DESC, id DESC);
    CREATE INDEX alerts_by_child ON alerts (child, created_at DESC);
    CREATE INDEX alerts_by_category ON alerts (category, created_at DESC);
    CREATE INDEX alerts_unreviewed ON alerts (reviewed, created_at DESC);

    CREATE TABLE conversation_messages (
        id INTEGER PRIMARY KEY,
        conversation_key TEXT NOT NULL,
        sender TEXT NOT NULL,
        direction TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX conversation_by_key ON conversation_messages (conversation_key, id DESC);
    CREATE INDEX conversation_by_time ON conversation_messages (created_at);

    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER,
        created_at REAL NOT NULL,
        label TEXT NOT NULL CHECK (label IN ('scam', 'grooming', 'benign')),
        category TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        lang TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX feedback_by_time ON feedback (created_at);

    CREATE TABLE devices (
        device TEXT PRIMARY KEY,
        child TEXT,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        address TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL DEFAULT ''
    );

    CREATE TABLE children (
        name TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}'
    );

    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE blind_spots (
        kind TEXT NOT NULL CHECK (kind IN ('tls_failed', 'doh')),
        host TEXT NOT NULL,
        device TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        PRIMARY KEY (kind, host, device)
    );

    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
    # 2: indexes for the dashboard at 100,000 alerts: the overview's per-day counts answered from the
    # index alone, and filtered lists (child + category + reviewed) counted without reading the table.
    """
    CREATE INDEX alerts_by_time_child_category ON alerts (created_at, child, category);
    CREATE INDEX alerts_by_child_category_reviewed ON alerts (child, category, reviewed, created_at DESC);
    """,
    # 3: what a child chose on a warning page ("went_back", "continued", "told_parent").
    """
    CREATE TABLE choices (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        alert_id INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
        child TEXT NOT NULL,
        device TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        choice TEXT NOT NULL CHECK (choice IN ('went_back', 'continued', 'told_parent'))
    );
    CREATE INDEX choices_by_alert ON choices (alert_id);
    CREATE INDEX choices_by_time ON choices (created_at);
    """,
    # 4: alert ids are never reused (AUTOINCREMENT): without it, deleting the newest alert hands its id to
    # the next one, and a notification marker, a recorded choice or feedback could point at the wrong alert.
    # SQLite cannot add AUTOINCREMENT in place: the table is rebuilt, and `choices` (whose foreign key
    # would null its links when the old table is dropped) is set aside and restored around it.
    """
    CREATE TABLE alerts_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        child TEXT NOT NULL,
        device TEXT NOT NULL DEFAULT '',
        direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
        url TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        app TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL CHECK (category IN ('scam', 'grooming', 'help')),
        probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
        snippet TEXT NOT NULL CHECK (length(snippet) <= 500),
        terms TEXT NOT NULL DEFAULT '[]',
        stages TEXT NOT NULL DEFAULT '[]',
        model_version TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT 'model' CHECK (source IN ('model', 'child')),
        child_note TEXT NOT NULL DEFAULT '' CHECK (length(child_note) <= 1000),
        conversation_key TEXT NOT NULL DEFAULT '',
        reviewed INTEGER NOT NULL DEFAULT 0,
        false_positive INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO alerts_v4 SELECT * FROM alerts;
    CREATE TABLE choices_saved AS SELECT * FROM choices;
    DROP TABLE choices;
    DROP TABLE alerts;
    ALTER TABLE alerts_v4 RENAME TO alerts;
    CREATE INDEX alerts_by_time ON alerts (created_at DESC, id DESC);
    CREATE INDEX alerts_by_child ON alerts (child, created_at DESC);
    CREATE INDEX alerts_by_category ON alerts (category, created_at DESC);
    CREATE INDEX alerts_unreviewed ON alerts (reviewed, created_at DESC);
    CREATE INDEX alerts_by_time_child_category ON alerts (created_at, child, category);
    CREATE INDEX alerts_by_child_category_reviewed ON alerts (child, category, reviewed, created_at DESC);
    CREATE TABLE choices (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        alert_id INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
        child TEXT NOT NULL,
        device TEXT NOT NULL DEFAULT '',
        url TEXT NOT NULL DEFAULT '',
        choice TEXT NOT NULL CHECK (choice IN ('went_back', 'continued', 'told_parent'))
    );
    INSERT INTO choices SELECT * FROM choices_saved;
    DROP TABLE choices_saved;
    CREATE INDEX choices_by_alert ON choices (alert_id);
    CREATE INDEX choices_by_time ON choices (created_at);
    """,
    # 5: the parent's dashboard sessions, server-side, so that logout and a password change end them: a
    # signed cookie alone stays valid until it expires. Only a hash of each session's token is kept.
    """
    CREATE TABLE dashboard_sessions (
        token_hash TEXT PRIMARY KEY,
        created_at REAL NOT NULL
    );
    """,
    # 6: incidents. A risky page visit or a conversation with one counterpart is one incident: its first
    # alert opens it and later detections fold in (AlertStore.add). Alerts gain the decision's kind, the
    # counterpart and their incident. Existing alerts are folded by device and page or conversation; their
    # kind stays "" and is derived from category and terms when read (alert_store.kinds.fallback_kind).
    """
    ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE alerts ADD COLUMN counterpart TEXT NOT NULL DEFAULT '';
    ALTER TABLE alerts ADD COLUMN incident_id INTEGER;
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fold_key TEXT NOT NULL,
        child TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL CHECK (category IN ('scam', 'grooming', 'help')),
        kind TEXT NOT NULL DEFAULT '',
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        detections INTEGER NOT NULL DEFAULT 1,
        url TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        app TEXT NOT NULL DEFAULT '',
        conversation_key TEXT NOT NULL DEFAULT '',
        counterpart TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT 'model',
        child_note TEXT NOT NULL DEFAULT '',
        reviewed INTEGER NOT NULL DEFAULT 0,
        false_positive INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO incidents (fold_key, child, device, category, kind, severity, first_seen, last_seen,
        detections, url, title, app, conversation_key, source, child_note, reviewed, false_positive)
    SELECT fk, CASE WHEN child = 'unassigned' THEN '' ELSE child END, device, category, '',
        CASE max(rank) WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END, min(created_at),
        max(created_at), count(*), url, title, app, conversation_key, source, child_note, min(reviewed),
        max(false_positive)
    FROM (SELECT *,
            CASE WHEN category = 'help' THEN 'help|' || id
                 WHEN conversation_key != '' THEN
                     'conversation|' || child || '|' || device || '|' || conversation_key || '|'
                 ELSE 'page|' || child || '|' || device || '|' || url END AS fk,
            CASE severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END AS rank
          FROM alerts)
    GROUP BY fk;
    CREATE INDEX incidents_by_key ON incidents (fold_key, last_seen DESC);
    CREATE INDEX incidents_by_time ON incidents (last_seen DESC, id DESC);
    CREATE INDEX incidents_by_device ON incidents (device, child);
    CREATE INDEX incidents_unreviewed ON incidents (reviewed, child);
    CREATE INDEX alerts_by_incident ON alerts (incident_id, created_at);
    UPDATE alerts SET incident_id = (SELECT i.id FROM incidents i WHERE i.fold_key =
        CASE WHEN alerts.category = 'help' THEN 'help|' || alerts.id
             WHEN alerts.conversation_key != '' THEN 'conversation|' || alerts.child || '|' || alerts.device
                 || '|' || alerts.conversation_key || '|'
             ELSE 'page|' || alerts.child || '|' || alerts.device || '|' || alerts.url END);
    UPDATE incidents SET child = (SELECT d.child FROM devices d WHERE d.device = incidents.device)
        WHERE child = '' AND EXISTS
            (SELECT 1 FROM devices d WHERE d.device = incidents.device AND d.child IS NOT NULL);
    UPDATE alerts SET child = (SELECT d.child FROM devices d WHERE d.device = alerts.device)
        WHERE child = 'unassigned' AND EXISTS
            (SELECT 1 FROM devices d WHERE d.device = alerts.device AND d.child IS NOT NULL);
    """,
    # 7: a parent's "False alarm" silences the same site (pages) or the same conversation, i.e. the same
    # sender in the same app (chats), for that child at once, without retraining.
    """
    CREATE TABLE suppressions (
        child TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('site', 'conversation')),
        value TEXT NOT NULL,
        created_at REAL NOT NULL,
        alert_id INTEGER,
        PRIMARY KEY (child, kind, value)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
INCIDENTS_SCHEMA = 6  # the migration that brought incidents (the store backfills their kinds after it)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer NotAlone than this one."""


def _version(conn: sqlite3.Connection) -> int:
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    if current > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"database schema version {current} is newer than this NotAlone understands ({SCHEMA_VERSION})"
        )
    return current


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn``'s schema up to :data:`SCHEMA_VERSION`; return the version it was at before.

    Safe when several processes open a new database at once: each step runs in a write transaction
    (``BEGIN IMMEDIATE``) that re-reads the version, so a step another process already applied is skipped.
    """
    before = _version(conn)
    while _version(conn) < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _version(conn)
            if version < SCHEMA_VERSION:
                # executescript() would commit first; run the statements one by one inside our transaction.
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return before
