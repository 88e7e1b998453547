"""The incident list (filters, paging, bulk "mark reviewed", help requests pinned first), one incident's page
(the conversation as it happened, what the child did, advice that fits), its actions, the evidence export
and the feedback export. An incident's address is that of its newest alert, so older links still work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alert_store import CATEGORIES, KINDS, SEVERITIES, AlertStore, Incident, IncidentFilter
from parent_ui.db import get_db
from parent_ui.evidence import evidence_file, history, transcript
from parent_ui.guidance import (
    CHOICE_NAMES,
    HELP_RESPONSE,
    KIND_NAMES,
    STAGES,
    explain_incident,
)
from parent_ui.i18n import current_language
from parent_ui.i18n import gettext as _
from parent_ui.security import safe_next
from parent_ui.settings import in_force
from parent_ui.text import highlight

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

PINNED_HELP_LIMIT = 20
HELP_CONTEXT_S = 6 * 3600.0  # a help request shows the child's other incidents within six hours
NOT_ASSIGNED = "-"  # the child filter's value for devices not yet assigned to a child
STATUSES = ("no", "yes", "false")  # not reviewed, reviewed, false alarm


@dataclass(frozen=True)
class ListQuery:
    """The list's filters as the parent chose them, validated; ``errors`` says what was ignored."""

    where: IncidentFilter
    page: int
    args: dict[str, str]
    errors: tuple[str, ...]


def _local_day_start(day: date) -> float:
    return datetime.combine(day, time.min).astimezone().timestamp()


def parse_query(args: dict[str, str], children: list[str]) -> ListQuery:
    errors: list[str] = []
    kept: dict[str, str] = {}
    where = IncidentFilter()
    child = args.get("child", "")
    if child in children or child == NOT_ASSIGNED:
        where = replace(where, child="" if child == NOT_ASSIGNED else child)
        kept["child"] = child
    if (category := args.get("category", "")) in CATEGORIES:
        where = replace(where, category=category)
        kept["category"] = category
    if (kind := args.get("kind", "")) in KINDS:
        where = replace(where, kind=kind)
        kept["kind"] = kind
    if (severity := args.get("severity", "")) in SEVERITIES:
        where = replace(where, severity=severity)
        kept["severity"] = severity
    if (reviewed := args.get("reviewed", "")) in STATUSES:
        if reviewed == "false":
            where = replace(where, false_positive=True)
        else:
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


def _shows_help_requests(where: IncidentFilter) -> bool:
    return (
        where.category in (None, "help")
        and where.kind in (None, "help")
        and where.reviewed in (None, False)
        and where.false_positive is None
    )


def device_names(store: AlertStore) -> dict[str, str]:
    """Each device's name for a parent: the label they gave it, else its id."""
    return {d.device: d.label or d.device for d in store.devices()}


@bp.get("/")
def index() -> ResponseReturnValue:
    store = get_db()
    children = list(store.children())
    query = parse_query(request.args.to_dict(), children)
    size = current_app.config["PAGE_SIZE"]
    # Unreviewed help requests stand above the list on every page; the list below leaves them out, so
    # paging stays exact.
    pinned: list[Incident] = []
    where = query.where
    if _shows_help_requests(where):
        pinned = store.incidents(
            replace(where, category="help", reviewed=False, pinned=True), limit=PINNED_HELP_LIMIT
        )
        where = replace(where, pinned=False)
    total = store.count_incidents(where)
    rows = store.incidents(where, limit=size, offset=(query.page - 1) * size)
    pages = max(1, -(-total // size))
    return render_template(
        "alerts/index.html",
        incidents=rows,
        pinned=pinned,
        total=total,
        page=query.page,
        pages=pages,
        filters=query.args,
        errors=query.errors,
        children=children,
        not_assigned=NOT_ASSIGNED,
        kinds=[k for k in KINDS if k != "help"],
        severities=SEVERITIES,
        devices=device_names(store),
    )


@bp.post("/reviewed")
def mark_many_reviewed() -> ResponseReturnValue:
    """Bulk "mark reviewed" from the list: the ticked incidents."""
    ids = [int(i) for i in request.form.getlist("incident") if i.isdigit()]
    n = get_db().mark_incidents_reviewed(ids) if ids else 0
    if n:
        flash(
            _("1 incident marked as reviewed.") if n == 1 else _("{n} incidents marked as reviewed.", n=n),
            "ok",
        )
    else:
        flash(_("Tick the incidents to mark as reviewed first."), "error")
    return redirect(safe_next(request.form.get("next", ""), url_for("alerts.index")))


def _incident_or_404(store: AlertStore, alert_id: int) -> Incident:
    incident_id = store.incident_of(alert_id)
    incident = store.incident(incident_id) if incident_id is not None else None
    if incident is None:
        abort(404)
    return incident


@bp.get("/incidents/<int:incident_id>")
def by_incident(incident_id: int) -> ResponseReturnValue:
    """An incident by its own id (``notalone alerts`` prints it)."""
    incident = get_db().incident(incident_id)
    if incident is None or not incident.last_alert_id:
        abort(404)
    return redirect(url_for("alerts.detail", alert_id=incident.last_alert_id))


@bp.get("/<int:alert_id>")
def detail(alert_id: int) -> ResponseReturnValue:
    """The incident an alert belongs to: what happened, the conversation, what the child did, advice."""
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    alerts = store.incident_alerts(incident.id)
    context: list[Incident] = []
    if incident.category == "help":
        context = [
            i
            for i in store.incidents(
                IncidentFilter(
                    child=incident.child,
                    device=None if incident.child else incident.device,
                    since=incident.first_seen - HELP_CONTEXT_S,
                    until=incident.first_seen + HELP_CONTEXT_S,
                ),
                limit=10,
            )
            if i.id != incident.id
        ]
    newest = alerts[-1] if alerts else None
    return render_template(
        "alerts/detail.html",
        incident=incident,
        alert_id=incident.last_alert_id or alert_id,  # one address per incident for its actions
        alerts=alerts,
        steps=history(alerts),
        lines=transcript(store.incident_transcript(incident.id), alerts),
        snippet=highlight(newest.snippet, newest.terms) if newest else "",
        explanation=explain_incident(incident, alerts),
        choices=store.incident_choices(incident.id),
        context=context,
        help_response=HELP_RESPONSE,
        helplines=in_force()[0].helplines(),
        numbers=_numbers(),
        children=list(store.children()),
        devices=device_names(store),
    )


def _numbers() -> dict[str, str]:
    """The numbers the advice names: the child helpline and emergency number of the family's country."""
    helplines = in_force()[0].helplines()
    return {"child_line": helplines.child_line, "emergency": helplines.emergency}


@bp.post("/<int:alert_id>/reviewed")
def mark_reviewed(alert_id: int) -> ResponseReturnValue:
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    reviewed = request.form.get("reviewed", "1") == "1"
    store.mark_incident_reviewed(incident.id, reviewed)
    flash(_("Marked as reviewed.") if reviewed else _("Marked as not reviewed."), "ok")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/false-positive")
def mark_false_positive(alert_id: int) -> ResponseReturnValue:
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    store.mark_incident_false_positive(incident.id, lang=current_language())
    flash(_("Thank you. This alert is kept as an example of a false alarm, to teach the model."), "ok")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/assign")
def assign(alert_id: int) -> ResponseReturnValue:
    """Assign the incident's device to a child: this incident and the device's earlier ones become theirs."""
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    child = request.form.get("child", "")
    if child not in store.children() or not incident.device:
        flash(_("Choose a child from the list."), "error")
    else:
        store.assign_device(incident.device, child)
        flash(_("The device is now {child}'s, with its earlier alerts.", child=child), "ok")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.get("/<int:alert_id>/delete")
def confirm_delete(alert_id: int) -> ResponseReturnValue:
    """Deleting evidence cannot be undone: the parent confirms on a page of its own first."""
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    return render_template(
        "alerts/delete.html", incident=incident, alert_id=alert_id, devices=device_names(store)
    )


@bp.post("/<int:alert_id>/delete")
def delete(alert_id: int) -> ResponseReturnValue:
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    if request.form.get("confirm") != "yes":
        return redirect(url_for("alerts.confirm_delete", alert_id=alert_id))
    store.delete_incident(incident.id)
    flash(_("Incident deleted."), "ok")
    return redirect(url_for("alerts.index"))


@bp.get("/<int:alert_id>/export")
def export_page(alert_id: int) -> ResponseReturnValue:
    """The incident as a printable page for the police or the school, naming the evidence file's checksum."""
    store = get_db()
    incident = _incident_or_404(store, alert_id)
    alerts = store.incident_alerts(incident.id)
    return render_template(
        "alerts/export.html",
        incident=incident,
        alert_id=alert_id,
        alerts=alerts,
        lines=transcript(store.incident_transcript(incident.id), alerts),
        choices=store.incident_choices(incident.id),
        file=evidence_file(store, incident),
        devices=device_names(store),
    )


@bp.get("/<int:alert_id>/evidence.json")
def export_file(alert_id: int) -> ResponseReturnValue:
    store = get_db()
    file = evidence_file(store, _incident_or_404(store, alert_id))
    return Response(
        file.body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{file.name}"',
            "X-Checksum-SHA256": file.sha256,
        },
    )


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


@bp.app_template_global()
def who(incident: Incident, devices: dict[str, str] | None = None) -> str:
    """Whose incident this is, for a parent: the child, or the device not yet assigned to one."""
    if incident.child:
        return incident.child
    name = (devices or {}).get(incident.device) or incident.device or _("unknown device")
    return _("a device not yet assigned: {name}", name=name)


@bp.app_template_global()
def kind_name(kind: str) -> str:
    return _(KIND_NAMES.get(kind, "Scam"))


@bp.app_context_processor
def _names() -> dict[str, object]:
    return {"STAGE_NAMES": STAGES, "CHOICE_NAMES": CHOICE_NAMES}
