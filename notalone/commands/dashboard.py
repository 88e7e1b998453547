"""``notalone dashboard``: serve the parent dashboard with waitress, plus its admin tasks.

The default host is 0.0.0.0: parents open the dashboard from a phone or laptop on the home network, which
a loopback-only default would refuse. Every page needs the parent's login, and the machine's firewall should
keep port 8000 closed to the internet (NotAlone is a home-network service); ``--host 127.0.0.1`` restricts it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alert_store import DataDir, default_data_dir
from notalone.commands import config_option, data_dir_option
from notalone.config import Config, ConfigError, load_config
from notalone.lan import advertised_host

if TYPE_CHECKING:
    from flask import Flask


def _settings(data_dir: Path | None, config_file: Path | None) -> tuple[Path, Config]:
    """The data directory and NotAlone's settings (config.toml < NOTALONE_* environment variables)."""
    root = data_dir or default_data_dir()
    try:
        return root, load_config(config_file or DataDir(root).config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _app(data_dir: Path | None, config_file: Path | None = None) -> Flask:
    from parent_ui import create_app

    root, config = _settings(data_dir, config_file)
    return create_app({"DATA_DIR": str(root), "SETTINGS": config})


@click.group("dashboard", invoke_without_command=True)
@click.option(
    "--host",
    default=None,
    help="Address to listen on (default: dashboard.host of config.toml, 0.0.0.0: phones and laptops on "
    "the home network can reach it).",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Port (default: dashboard.port of config.toml, 8000).",
)
@data_dir_option()
@config_option()
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 64),
    help="Request threads (default: dashboard.threads of config.toml, 4).",
)
@click.pass_context
def dashboard(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    config_file: Path | None,
    threads: int | None,
) -> None:
    """Serve the parent dashboard (or run one of its admin tasks)."""
    ctx.obj = (data_dir, config_file)
    if ctx.invoked_subcommand is not None:
        return
    from waitress import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _root, config = _settings(data_dir, config_file)
    host = config.dashboard.host if host is None else host
    port = config.dashboard.port if port is None else port
    threads = config.dashboard.threads if threads is None else threads
    app = build_app(data_dir, config_file)
    click.echo(f"NotAlone dashboard on http://{host}:{port}/ (data in {app.config['DATA_DIR']})")
    serve(app, host=host, port=port, threads=threads, ident="NotAlone")


def build_app(data_dir: Path | None, config_file: Path | None = None) -> Flask:
    """The dashboard as `notalone dashboard` serves it: with ``PROXY_HOST``, the address children's devices
    use (the device pages show it when `notalone up` has not recorded the one it printed)."""
    _root, config = _settings(data_dir, config_file)
    app = _app(data_dir, config_file)
    app.config.setdefault("PROXY_HOST", advertised_host(config.proxy.listen_host))
    return app


def _run_app_command(ctx: click.Context, name: str, args: list[str]) -> None:
    """Run one of the app's own click commands (``parent_ui.commands``) inside its app context."""
    app = _app(*ctx.obj)
    command = app.cli.get_command(ctx, name)
    assert command is not None, f"parent_ui registers no {name!r} command"
    with app.app_context():
        command.main(args=args, prog_name=f"notalone dashboard {name}", standalone_mode=False)


@dashboard.command("reset-password", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def reset_password(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Set a new parent password and log out every session."""
    _run_app_command(ctx.parent, "reset-password", list(args))


@dashboard.command("export-feedback", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def export_feedback(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Write false-alarm feedback as JSONL in the training format (for ``notalone train --extra``)."""
    _run_app_command(ctx.parent, "export-feedback", list(args))
