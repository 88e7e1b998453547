"""``notalone alerts``: list stored alerts, newest first, as a table or as JSON."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click

from alert_store import AlertFilter, AlertStore, DataDir, default_data_dir


@click.command("alerts")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of alert objects.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="NotAlone's data directory (default: $NOTALONE_DATA_DIR or ~/.local/share/notalone).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--child", default=None, help="Only this child's alerts.")
@click.option("--category", type=click.Choice(["scam", "grooming", "help"]), default=None)
def alerts(as_json: bool, data_dir: Path | None, limit: int, child: str | None, category: str | None) -> None:
    """List stored alerts, newest first."""
    database = DataDir(data_dir or default_data_dir()).database
    if not database.exists():
        raise click.ClickException(f"no NotAlone database at {database}; has the proxy run yet?")
    with AlertStore(database) as store:
        found = store.list(AlertFilter(child=child, category=category), limit=limit)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(a) for a in found], ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("No alerts.")
        return
    for a in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.created_at))
        where = a.url or a.app
        click.echo(f"{when}  {a.child:<12} {a.category:<8} {a.severity:<6} {a.probability:4.2f}  {where}")
        click.echo(f"    {a.snippet[:160]!s}")
