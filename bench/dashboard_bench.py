"""p50 render time of the dashboard's alert list and overview with 100,000 alerts in the store.

Run: ``.venv/bin/python bench/dashboard_bench.py [--alerts N] [--runs N]``. Target: p50 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask.testing import FlaskClient

from alert_store import AlertStore, DataDir
from alert_store.migrations import INCIDENTS_SCHEMA, MIGRATIONS
from parent_ui import create_app

CHILDREN = ("An", "Binh", "Chi")
PASSWORD = "benchmark password"


def bulk_insert(database: Path, n: int, seed: int = 7) -> None:
    """Insert ``n`` alerts spread over the last 60 days in one transaction (100k add() calls take minutes)."""
    rng = random.Random(seed)
    now = time.time()
    rows = []
    for i in range(n):
        category = rng.choice(("scam", "scam", "grooming", "help"))
        rows.append(
            (
                now - rng.random() * 60 * 86400,
                rng.choice(CHILDREN),
                f"device-{i % 7}",
                "incoming",
                f"https://site{i % 500}.example/page",
                "A page title",
                "web",
                category,
                rng.random(),
                rng.choice(("low", "medium", "high")),
                f"evidence number {i}: claim your free robux now",
                json.dumps(["free robux"]),
                "[]",
                "bench",
                "child" if category == "help" else "model",
                "",
                "",
                int(rng.random() < 0.7),
                0,
            )
        )
    conn = sqlite3.connect(database, isolation_level=None)
    # The schema as it was before incidents: opening the store afterwards folds these alerts into incidents
    # as an upgrade would (migration 5), which one add() per alert would take minutes to do.
    for statement in "".join(MIGRATIONS[: INCIDENTS_SCHEMA - 1]).split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {INCIDENTS_SCHEMA - 1}")
    conn.isolation_level = ""
    with conn:
        conn.executemany(
            """INSERT INTO alerts (created_at, child, device, direction, url, title, app, category,
                   probability, severity, snippet, terms, stages, model_version, source, child_note,
                   conversation_key, reviewed, false_positive)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
    conn.execute("ANALYZE")
    conn.close()


def p50_ms(client: FlaskClient, path: str, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times), max(times)


sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import Figure, figure, print_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10,000 alerts, 5 renders each")
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON list")
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.runs = min(args.alerts, 10_000), min(args.runs, 5)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        bulk_insert(DataDir(root).ensure().database, args.alerts)
        with AlertStore(DataDir(root).database) as store:  # migrates: the alerts fold into incidents
            for child in CHILDREN:
                store.add_child(child)
            incidents = store.count_incidents()
        insert_s = time.perf_counter() - start
        app = create_app({"DATA_DIR": str(root)})
        client = app.test_client()
        from werkzeug.security import generate_password_hash

        with AlertStore(DataDir(root).database) as store:
            store.set_setting("auth.password_hash", generate_password_hash(PASSWORD))
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token.group(1), "password": PASSWORD})
        say = (lambda *a: None) if args.json else print
        say(
            f"{args.alerts} alerts inserted and folded into {incidents} incidents in {insert_s:.1f} s; "
            f"{args.runs} renders each, "
            "target p50 <= 100 ms"
        )
        say(f"{'page':<44} {'p50 ms':>8} {'max ms':>8} {'vs target':>10}")
        for label, path in (
            ("alerts list, page 1", "/alerts/"),
            ("alerts list, page 200", "/alerts/?page=200"),
            ("alerts list, filtered (child+category)", "/alerts/?child=An&category=scam&reviewed=no"),
            ("alert detail (help, with context)", "/alerts/1"),
            ("overview (7 and 30 days)", "/overview/"),
        ):
            p50, worst = p50_ms(client, path, args.runs)
            say(f"{label:<44} {p50:>8.1f} {worst:>8.1f} {p50 / 100:>9.2f}x")
            figures.append(figure("dashboard", f"{label} p50 @ {args.alerts} alerts", p50, "ms", "<= 100"))
    if args.json:
        print_json(figures)


if __name__ == "__main__":
    main()
