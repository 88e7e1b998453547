"""``notalone alerts``: list incidents, newest first, as a table or as JSON (one object per incident: the
shape is :func:`alert_store.export.incident_record`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from alert_store import CATEGORIES, KINDS, AlertStore, DataDir, IncidentFilter, default_data_dir
from alert_store.export import incident_record
from notalone.commands import data_dir_option
from parent_ui.notifications import who


@click.command("alerts")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of incident objects.")
@data_dir_option()
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="Show at most this many."
)
@click.option("--child", default=None, help="Only this child's incidents (a name given at set-up).")
@click.option("--category", type=click.Choice(CATEGORIES), default=None, help="Only scams, grooming or help.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind of incident.")
def alerts(
    as_json: bool,
    data_dir: Path | None,
    limit: int,
    child: str | None,
    category: str | None,
    kind: str | None,
) -> None:
    """List stored incidents (each risky page visit or conversation, detections folded in), newest first."""
    database = DataDir(data_dir or default_data_dir()).database
    if not database.exists():
        raise click.ClickException(f"no NotAlone database at {database}; has the proxy run yet?")
    with AlertStore(database) as store:
        found = store.incidents(IncidentFilter(child=child, category=category, kind=kind), limit=limit)
        children = sorted(store.children())
        if not found and child is not None and child not in children:
            known = ", ".join(children) if children else "none yet (add them on the dashboard)"
            raise click.ClickException(f"no child named {child!r}; the children are: {known}")
        if as_json:
            records = [incident_record(store, i) for i in found]
            click.echo(json.dumps(records, ensure_ascii=False, indent=1))
            return
        names = {d.device: d.label or d.device for d in store.devices()}
        if not found:
            click.echo("No incidents" + (f" for {child}." if child else "."))
            return
        for i in found:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(i.last_seen))
            owner = who(i, names)
            state = "false alarm" if i.false_positive else "reviewed" if i.reviewed else "new"
            where = " ".join(x for x in (i.app, i.url) if x)
            click.echo(
                f"#{i.id:<5} {when}  {owner}  {i.kind} {i.severity}  [{state}]  "
                f"{i.detections} detection{'s' if i.detections != 1 else ''}  {where}"
            )
            if i.counterpart:
                click.echo(f"    with {i.counterpart}")
            if i.category == "help" and i.child_note:
                click.echo(f"    in the child's words: {i.child_note[:300]}")
