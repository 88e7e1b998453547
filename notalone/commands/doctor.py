"""``notalone doctor``: check this machine for what would stop NotAlone working (``notalone up`` runs the
same checks before it starts)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from alert_store import AlertStore, DataDir, SettingKey, default_data_dir
from notalone.commands import config_option, data_dir_option
from notalone.config import ConfigError, load_config, parse_sets
from notalone.doctor import ERROR, OK, WARNING, Finding, run_checks

LABELS = {OK: "ok", WARNING: "warning", ERROR: "PROBLEM"}


def running_notalone(data_dir: DataDir) -> int | None:
    """The pid of the `notalone up` using this data directory, if it is running (its ports are its own)."""
    if not data_dir.database.is_file():
        return None
    with AlertStore(data_dir.database) as store:
        status = store.settings().get(SettingKey.UP_STATUS)
    pid = status.get("pid") if isinstance(status, dict) else None
    if not isinstance(pid, int):
        return None
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if b"notalone" in b" ".join(command) and b"up" in command else None


def describe(finding: Finding) -> str:
    return f"{LABELS[finding.level]:8} {finding.check:16} {finding.message}"


@click.command("doctor")
@data_dir_option()
@config_option("config_path")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Check with this setting changed, as `notalone up --set` would run (repeatable).",
)
def doctor(data_dir: Path | None, config_path: Path | None, sets: tuple[str, ...]) -> None:
    """Check the packages, the model, the data directory, the ports, the CA, the network address and the
    clock; each problem is named in one sentence with what to do. Exits 1 if there is a problem."""
    root = DataDir((data_dir or default_data_dir()).expanduser())
    try:
        config = load_config(config_path or root.config_file, overrides=parse_sets(sets))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    pid = running_notalone(root) if root.root.is_dir() and os.access(root.root, os.R_OK) else None
    findings = run_checks(config, root, ports=pid is None)
    if pid is not None:
        findings.insert(3, Finding("ports", OK, f"NotAlone is running (pid {pid}) and uses its ports."))
    for finding in findings:
        click.echo(describe(finding))
    problems = sum(1 for f in findings if f.level == ERROR)
    if problems:
        raise click.ClickException(f"{problems} problem(s) found; fix them as said above.")
    click.echo("NotAlone can run on this machine.")
