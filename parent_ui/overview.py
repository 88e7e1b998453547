"""The overview: incidents per child and category over 7 and 30 days, blind spots and quiet devices."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from alert_store import CATEGORIES
from parent_ui.charts import bar_chart, tally
from parent_ui.db import get_db

bp = Blueprint("overview", __name__, url_prefix="/overview")

DAY = 86400.0


def _iso_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


@bp.get("/")
def index() -> ResponseReturnValue:
    store = get_db()
    now = time.time()
    children = list(store.children())
    counts = store.incident_counts_by_day(since=now - 30 * DAY)
    charts = {
        days: bar_chart(tally(counts, _iso_day(now - (days - 1) * DAY)), children, CATEGORIES)
        for days in (7, 30)
    }
    devices = store.devices()
    quiet = [d for d in devices if d.last_seen < now - DAY]
    return render_template(
        "overview.html",
        charts=charts,
        categories=CATEGORIES,
        blind_spots=store.blind_spots(since=now - 30 * DAY),
        quiet_devices=quiet,
    )
