"""Admin tasks as click commands on the app (``flask --app parent_ui reset-password``); the ``notalone``
CLI reuses them."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from parent_ui.alerts import feedback_lines
from parent_ui.auth import password_problem, set_password
from parent_ui.db import get_db


@click.command("reset-password")
@with_appcontext
@click.password_option("--password", prompt="New parent password", help="The new parent password.")
def reset_password_command(password: str) -> None:
    """Set a new parent password and log out every session."""
    if problem := password_problem(password, password):
        raise click.BadParameter(problem, param_hint="--password")
    set_password(password)
    click.echo("Password changed; every dashboard session has been logged out.")


@click.command("export-feedback")
@with_appcontext
@click.argument("output", type=click.File("w", encoding="utf-8"), default="-")
def export_feedback_command(output: click.utils.LazyFile) -> None:
    """Write the parents' feedback as JSONL in the training format (for ``notalone train --extra``)."""
    n = 0
    for line in feedback_lines(get_db()):
        output.write(line)
        n += 1
    click.echo(f"{n} feedback records written.", err=True)
    if output is not sys.stdout:
        output.flush()


def init_app(app: Flask) -> None:
    app.cli.add_command(reset_password_command)
    app.cli.add_command(export_feedback_command)
