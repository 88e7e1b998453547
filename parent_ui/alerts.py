"""The alert list (filters, paging, help requests pinned first), one alert's page, its actions and the
feedback export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alert_store import CATEGORIES, SEVERITIES, Alert, AlertFilter, AlertStore
from parent_ui.db import get_db
from parent_ui.guidance import HELP_RESPONSE, explain
from parent_ui.i18n import current_language
from parent_ui.i18n import gettext as _
from parent_ui.settings import in_force
from parent_ui.text import highlight

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

PINNED_HELP_LIMIT = 20
HELP_REQUESTS = AlertFilter(category="help", source="child", reviewed=False)


@dataclass(frozen=True)
class ListQuery:
    """The list's filters as the parent chose them, validated; ``errors`` says what was ignored."""

    where: AlertFilter
    page: int
    args: dict[str, str]
    errors: tuple[str, ...]


def _local_day_start(day: date) -> float:
    return datetime.combine(day, time.min).astimezone().timestamp()


def parse_query(args: dict[str, str], children: list[str]) -> ListQuery:
    errors: list[str] = []
    kept: dict[str, str] = {}
    where = AlertFilter()
    if (child := args.get("child", "")) and child in children:
        where = replace(where, child=child)
        kept["child"] = child
    if (category := args.get("category", "")) in CATEGORIES:
        where = replace(where, category=category)
        kept["category"] = category
    if (severity := args.get("severity", "")) in SEVERITIES:
        where = replace(where, severity=severity)
        kept["severity"] = severity
    if (reviewed := args.get("reviewed", "")) in ("yes", "no"):
        where = replace(where, reviewed=reviewed == "yes")
        kept["reviewed"] = reviewed
    for name, label in (("from", _("From")), ("to", _("To"))):
        if not (raw := args.get(name, "")):
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(_("{field}: use a date like 2025-01-31.", field=label))
            continue
        kept[name] = day.isoformat()
        if name == "from":
            where = replace(where, since=_local_day_start(day))
        else:
            where = replace(where, until=_local_day_start(day + timedelta(days=1)))
    page = 1
    if raw_page := args.get("page", ""):
        if raw_page.isdigit() and 0 < int(raw_page) <= 1_000_000:
            page = int(raw_page)
        else:
            errors.append(_("Unknown page number; showing the first page."))
    return ListQuery(where, page, kept, tuple(errors))


def _shows_help_requests(where: AlertFilter) -> bool:
    return where.category in (None, "help") and where.reviewed in (None, False)


@bp.get("/")
def index() -> ResponseReturnValue:
    store = get_db()
    children = list(store.children())
    query = parse_query(request.args.to_dict(), children)
    size = current_app.config["PAGE_SIZE"]
    # Unreviewed help requests stand above the list on every page; the list below leaves them out, so
    # paging stays exact.
    pinned = []
    where = query.where
    if _shows_help_requests(query.where):
        pinned = store.list(
            replace(HELP_REQUESTS, child=where.child, since=where.since, until=where.until),
            limit=PINNED_HELP_LIMIT,
        )
        where = replace(where, pinned=False)
    total = store.count(where)
    rows = store.list(where, limit=size, offset=(query.page - 1) * size)
    pages = max(1, -(-total // size))
    return render_template(
        "alerts/index.html",
        alerts=rows,
        pinned=pinned,
        total=total,
        page=query.page,
        pages=pages,
        filters=query.args,
        errors=query.errors,
        children=children,
        categories=CATEGORIES,
        severities=SEVERITIES,
    )


def _get_alert_or_404(store: AlertStore, alert_id: int) -> Alert:
    alert = store.get(alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.get("/<int:alert_id>")
def detail(alert_id: int) -> ResponseReturnValue:
    store = get_db()
    alert = _get_alert_or_404(store, alert_id)
    context = []
    if alert.category == "help":
        context = [a for a in store.recent_for_child(alert.child, alert.created_at) if a.id != alert.id]
    return render_template(
        "alerts/detail.html",
        alert=alert,
        snippet=highlight(alert.snippet, alert.terms),
        explanation=explain(alert),
        context=context,
        help_response=HELP_RESPONSE,
        numbers=_numbers(),
    )


def _numbers() -> dict[str, str]:
    """The numbers the advice names: the child helpline and emergency number of the family's country."""
    helplines = in_force()[0].helplines()
    return {"child_line": helplines.child_line, "emergency": helplines.emergency}


@bp.post("/<int:alert_id>/reviewed")
def mark_reviewed(alert_id: int) -> ResponseReturnValue:
    reviewed = request.form.get("reviewed", "1") == "1"
    if not get_db().mark_reviewed(alert_id, reviewed):
        abort(404)
    flash(_("Marked as reviewed.") if reviewed else _("Marked as not reviewed."), "ok")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/false-positive")
def mark_false_positive(alert_id: int) -> ResponseReturnValue:
    if not get_db().mark_false_positive(alert_id):
        abort(404)
    flash(_("Thank you. This alert is kept as an example of a false alarm, to teach the model."), "ok")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/delete")
def delete(alert_id: int) -> ResponseReturnValue:
    if not get_db().delete(alert_id):
        abort(404)
    flash(_("Alert deleted."), "ok")
    return redirect(url_for("alerts.index"))


def feedback_lines(store: AlertStore) -> Iterator[str]:
    """The feedback in the training format, one JSON object a line (``notalone train --extra FILE``)."""
    for record in store.iter_feedback_jsonl():
        yield json.dumps(record, ensure_ascii=False) + "\n"


@bp.get("/feedback.jsonl")
def export_feedback() -> ResponseReturnValue:
    body = "".join(feedback_lines(get_db()))
    return Response(
        body,
        mimetype="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="notalone-feedback.jsonl"',
        },
    )


@bp.app_template_filter("when")
def format_when(ts: float) -> str:
    """A time in the server's local zone, in the order the parent's language writes it."""
    moment = datetime.fromtimestamp(ts).astimezone()
    if current_language() == "vi":
        return moment.strftime("%H:%M %d/%m/%Y")
    return moment.strftime("%Y-%m-%d %H:%M")
