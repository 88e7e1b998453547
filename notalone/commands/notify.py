"""``notalone notify``: send the parent's notifications (urgent alerts at once, the digest when due).

``notalone up`` already does this every minute; this command is for a set-up without ``up`` (a cron job
with ``--once``) and for checking the mail server or webhook by hand.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from alert_store import AlertStore, DataDir, default_data_dir
from notalone.commands import data_dir_option
from notalone.config import ConfigError, load_config
from notalone.lan import advertised_host
from parent_ui.notifications import Notifier, channels_from_settings

INTERVAL_S = 60.0


def _dashboard_url(root: DataDir) -> str:
    """The dashboard's address as ``notalone up`` announces it, from the data directory's config.toml."""
    try:
        config = load_config(root.config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return f"http://{advertised_host(config.dashboard.host)}:{config.dashboard.port}/"


@click.command("notify")
@data_dir_option()
@click.option(
    "--once", is_flag=True, help="Send what is due, then exit (otherwise: every minute until Ctrl-C)."
)
@click.option(
    "--dashboard-url",
    default=None,
    help="Link alerts to this dashboard address (default: from config.toml's [dashboard]).",
)
def notify(data_dir: Path | None, once: bool, dashboard_url: str | None) -> None:
    """Send pending alert notifications by e-mail and webhook, as set on the dashboard's Settings page."""
    root = DataDir((data_dir or default_data_dir()).expanduser())
    if not root.database.exists():
        raise click.ClickException(f"no NotAlone database at {root.database}; has the proxy run yet?")
    notifier = Notifier(dashboard_url if dashboard_url is not None else _dashboard_url(root))
    while True:
        with AlertStore(root.database) as store:
            if not channels_from_settings(store.settings()):
                raise click.ClickException("no email or webhook is set up: see the dashboard's Settings page")
            result = notifier.run(store)
        click.echo(f"sent {result.sent}, failed {result.failed}")
        for error in result.errors:
            click.echo(f"  {error}", err=True)
        if once:
            if result.failed:
                raise SystemExit(1)
            return
        try:
            time.sleep(INTERVAL_S)
        except KeyboardInterrupt:
            return
