"""``notalone up``: the proxy and the dashboard together, supervised, with what a parent needs printed.

One supervisor process starts two child processes rather than running both parts in one:

- isolation: mitmproxy owns its asyncio event loop and its signal handling; the dashboard is a threaded
  WSGI server. In separate processes neither can stall the other (a slow dashboard query never delays a
  child's page) and a crash in one (a bad flow, a template error) leaves the other serving;
- restart: the supervisor sees a part exit, logs it and starts it again with backoff; a part that keeps
  failing at once (a taken port, a broken install) ends ``up`` with the cause instead of looping quietly;
- shutdown: SIGTERM to each part, which lets mitmproxy run its ``done`` hooks (the addon writes the
  alerts still queued), then SIGKILL only after a grace period.

The proxy runs as ``notalone proxy``: mitmproxy's own master with the addon added directly (not loaded as
a script, so it is never reloaded from disk mid-run), with repeated ``--set`` values of list options passed
through unchanged: several home ranges, several ignored hosts, the ``regular`` + ``wireguard`` modes.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from alert_store import AlertStore, DataDir, SettingKey, default_data_dir
from notalone.commands import config_option, data_dir_option
from notalone.commands.proxy import config_options
from notalone.config import (
    KEYS,
    LEVELS,
    Config,
    ConfigError,
    environment_for,
    load_config,
    parse_sets,
    write_example_config,
)
from notalone.doctor import ALL, DASHBOARD, ERROR, PROXY, blocked_parts, check_data_dir, run_checks
from notalone.lan import advertised_host
from notalone.logs import configure_logging
from notalone.supervisor import Backoff, PartSpec, PeriodicTask, Supervisor
from parent_ui.notifications import Notifier

log = logging.getLogger("notalone.up")

RETENTION_INTERVAL_S = 3600.0
NOTIFY_INTERVAL_S = 60.0
STOP_TIMEOUT_S = 30.0  # the addon drains its queue on shutdown; a Raspberry Pi may need a while
_LOOPBACK_FOR = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
# mitmproxy's termlog speaks its own level names.
_TERMLOG_LEVELS = {"debug": "debug", "info": "info", "warning": "warn", "error": "error"}


@dataclass(frozen=True)
class Layout:
    """Where everything is, and the addresses a parent is told."""

    data_dir: DataDir
    config_file: Path
    proxy_host: str
    dashboard_host: str


# -- building the parts -----------------------------------------------------------------------------------
def proxy_argv(config: Config, layout: Layout, log_level: str) -> list[str]:
    p = config.proxy
    if importlib.util.find_spec("mitmproxy") is None:  # without importing it here
        raise click.ClickException("mitmproxy is not installed in this environment (it needs Python 3.12+)")
    sets = {
        **config_options(config, f"{layout.dashboard_host}:{config.dashboard.port}"),
        "termlog_verbosity": [_TERMLOG_LEVELS[log_level]],
    }
    argv = [
        sys.executable,
        "-m",
        "notalone",
        "proxy",
        "--listen-host",
        p.listen_host,
        "--listen-port",
        str(p.port),
        "--data-dir",
        str(layout.data_dir.root),
        "--mode",
        p.mode,
    ]
    for name, values in sets.items():
        argv += [arg for value in values for arg in ("--set", f"{name}={value}")]
    return argv


def dashboard_argv(config: Config, layout: Layout) -> list[str]:
    d = config.dashboard
    return [
        sys.executable,
        "-m",
        "notalone",
        "dashboard",
        "--host",
        d.host,
        "--port",
        str(d.port),
        "--threads",
        str(d.threads),
        "--data-dir",
        str(layout.data_dir.root),
        "--config",
        str(layout.config_file),
    ]


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_LOOPBACK_FOR.get(host, host), port), timeout=1):
            return True
    except OSError:
        return False


def _proxy_ready(data_dir: DataDir) -> Callable[[float], bool]:
    """Ready when the addon has reported its scoring status since the start (it does once the model loaded).

    The proxy's port is not probed: a connection would show up in the dashboard as a device.
    """

    def ready(since: float) -> bool:
        if not data_dir.ca_cert.is_file():
            return False
        with AlertStore(data_dir.database) as store:
            status = store.settings().get(SettingKey.PROXY_STATUS)
        return isinstance(status, dict) and float(status.get("updated_at", 0)) >= since

    return ready


# -- housekeeping -----------------------------------------------------------------------------------------
def purge_expired(config: Config, data_dir: DataDir) -> None:
    """Delete what is older than the retention period (the parent's dashboard setting wins over the file)."""
    with AlertStore(data_dir.database) as store:
        effective, _problems = config.with_parent_settings(store.settings())
        result = store.purge_older_than(effective.retention.days)
    log.info(
        "retention purge",
        extra={
            "days": effective.retention.days,
            "alerts": result.alerts,
            "messages": result.conversation_messages,
            "total": result.total,
        },
    )


def notify_parents(notifier: Notifier, data_dir: DataDir) -> None:
    """Send the alerts and digests that are due (parent_ui/notifications.py); failures retry next minute."""
    with AlertStore(data_dir.database) as store:
        result = notifier.run(store)
    if result.sent or result.failed:
        log.info("notifications", extra={"sent": result.sent, "failed": result.failed})


def _setup_done(data_dir: DataDir) -> bool:
    with AlertStore(data_dir.database) as store:
        return bool(store.settings().get("auth.password_hash"))


def dashboard_url(config: Config, layout: Layout) -> str:
    return f"http://{layout.dashboard_host}:{config.dashboard.port}/"


def banner(config: Config, layout: Layout, not_running: Mapping[str, str] | None = None) -> str:
    """What a parent needs, printed once the parts serve; ``not_running`` maps a part to why it is not."""
    not_running = not_running or {}
    proxy = f"{layout.proxy_host}:{config.proxy.port}"
    dashboard = dashboard_url(config, layout)
    lines = ["", "NotAlone is running." if not not_running else "NotAlone is running, but not all of it."]
    if PROXY in not_running:
        lines.append(f"  The filter is NOT running: {not_running[PROXY]}")
    else:
        lines.append(
            f"  Proxy for children's devices  {proxy}  (set it as the device's HTTP and HTTPS proxy)"
        )
    lines.append(f"  Parent dashboard              {dashboard}")
    if not _setup_done(layout.data_dir):
        lines.append(f"  First-run setup               {dashboard}setup  (choose the parent password first)")
    lines += [
        f"  CA certificate                {layout.data_dir.ca_cert}",
        "      A child's device must trust it: follow the dashboard's device pages at "
        f"{dashboard}setup-device/",
    ]
    if config.proxy.wireguard:
        lines.append(
            f"  WireGuard for phones          UDP {layout.proxy_host}:{config.proxy.wireguard_port}"
            "  (per-child configs on the dashboard's Children page)"
        )
    lines += [
        f"  Mode {config.proxy.mode}; data in {layout.data_dir.root}; settings in {layout.config_file}",
        "  Try it: run `notalone demo` in another terminal, then open the dashboard. Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


# -- what up tells the dashboard and the demo -------------------------------------------------------------
def record_status(
    data_dir: DataDir,
    parts: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    fresh: bool = False,
    **fields: Any,
) -> None:
    """Merge ``fields`` and the ``parts``' states into the store's ``status.up`` (SettingKey.UP_STATUS);
    ``fresh`` forgets what an earlier run wrote."""
    with AlertStore(data_dir.database) as store:
        status = store.settings().get(SettingKey.UP_STATUS)
        status = dict(status) if isinstance(status, dict) and not fresh else {}
        status.update(fields)
        status["parts"] = {**status.get("parts", {}), **(parts or {})}
        status["updated_at"] = time.time()
        store.set_setting(SettingKey.UP_STATUS, status)


def failure_sentence(last_lines: Sequence[str]) -> str:
    """Why a part keeps failing, in one sentence: its last error line and what to do."""
    errors = [line for line in last_lines if "Error" in line or "error" in line.lower()[:40]]
    last = (errors or list(last_lines) or ["no output"])[-1].strip()
    if len(last) > 200:
        last = last[:197] + "..."
    return (
        f"it stopped each time it started (last: {last}); run `notalone doctor` to see what is wrong, then "
        "restart NotAlone."
    )


# -- the command ------------------------------------------------------------------------------------------
PORT_TYPE = click.IntRange(1, 65535)
FLAG_KEYS = {  # flag name -> config key; every flag is a shortcut for --set
    "listen_host": "proxy.listen_host",
    "proxy_port": "proxy.port",
    "mode": "proxy.mode",
    "dashboard_host": "dashboard.host",
    "dashboard_port": "dashboard.port",
    "log_level": "logging.level",
}


@click.command("up")
@data_dir_option()
@config_option(
    "config_path", help="Settings file (default: config.toml in the data directory, written on first run)."
)
@click.option(
    "--listen-host",
    default=None,
    help="proxy.listen_host: address the proxy listens on (default: every interface).",
)
@click.option(
    "--proxy-port", default=None, type=PORT_TYPE, help="proxy.port: the proxy's port (default 8080)."
)
@click.option(
    "--mode",
    default=None,
    type=click.Choice(KEYS["proxy.mode"].rule.options),
    help="proxy.mode: monitor: alert parents only; warn: show a warning page with 'continue'; block: "
    "without (default monitor).",
)
@click.option(
    "--dashboard-host",
    default=None,
    help="dashboard.host: address the dashboard listens on (default 0.0.0.0).",
)
@click.option(
    "--dashboard-port",
    default=None,
    type=PORT_TYPE,
    help="dashboard.port: the dashboard's port (default 8000).",
)
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(LEVELS),
    help="logging.level (default info).",
)
@click.option("--json-logs", is_flag=True, default=None, help="logging.json: one JSON object per line.")
@click.option("-v", "--verbose", is_flag=True, help="Log everything (logging.level=debug).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Any setting of config.toml, e.g. --set retention.days=14 (repeatable).",
)
def up(
    data_dir: Path | None,
    config_path: Path | None,
    verbose: bool,
    json_logs: bool | None,
    sets: tuple[str, ...],
    **flags: str | None,
) -> None:
    """Check the machine (as `notalone doctor` does), then start the proxy and the parent dashboard and
    keep them running until Ctrl-C."""
    root = DataDir((data_dir or default_data_dir()).expanduser())
    for finding in check_data_dir(root):
        if finding.level == ERROR:
            raise click.ClickException(finding.message)
    os.umask(0o077)  # the database, the CA key and config.toml are private to this user
    root.ensure()
    config_file = config_path or root.config_file
    wrote_example = False
    if config_path is None:
        wrote_example = write_example_config(config_file)
    elif not config_file.is_file():
        raise click.ClickException(f"config file not found: {config_file}")

    try:
        overrides = parse_sets(sets)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for name, key in FLAG_KEYS.items():
        if flags.get(name) is not None:
            overrides[key] = ("--" + name.replace("_", "-"), flags[name])
    if json_logs:
        overrides["logging.json"] = ("--json-logs", True)
    if verbose:
        overrides["logging.level"] = ("--verbose", "debug")
    try:
        config = load_config(config_file, overrides=overrides)
        # The parts load the same settings from the file and the environment; flags reach them this way.
        flag_env = environment_for({k: config.get(k) for k in overrides}, config.origins)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(config.logging.level, as_json=config.logging.json)
    if wrote_example:
        log.info("wrote the example settings file", extra={"path": str(config_file)})

    with AlertStore(root.database) as store:  # create the schema before two processes race to
        config, problems = config.with_parent_settings(store.settings())
        # The proxy's help page reads the child helpline here: the one of the country in force.
        store.set_setting(SettingKey.HELPLINE, config.helplines().child_line)
    for problem in problems:
        log.warning("ignoring a dashboard setting", extra={"problem": problem})

    findings = run_checks(config, root)
    for finding in findings:
        if not finding.ok:
            log.log(
                logging.ERROR if finding.level == ERROR else logging.WARNING,
                "doctor: " + finding.message,
                extra={"check": finding.check, "blocks": finding.blocks or "nothing"},
            )
    blocked = blocked_parts(findings)
    for part in (ALL, DASHBOARD):
        if part in blocked:
            raise click.ClickException(blocked[part].message)
    not_running = {PROXY: blocked[PROXY].message} if PROXY in blocked else {}

    layout = Layout(
        root, config_file, advertised_host(config.proxy.listen_host), advertised_host(config.dashboard.host)
    )
    local_proxy_host = _LOOPBACK_FOR.get(config.proxy.listen_host, config.proxy.listen_host)
    record_status(
        root,
        {name: {"running": False, "reason": reason} for name, reason in not_running.items()},
        fresh=True,
        pid=os.getpid(),
        proxy=f"{layout.proxy_host}:{config.proxy.port}",
        proxy_local=f"{local_proxy_host}:{config.proxy.port}",
        dashboard=dashboard_url(config, layout),
    )
    # The parts load the same settings from the file and the environment; flags reach them this way.
    child_env = {"PYTHONUNBUFFERED": "1", **flag_env}
    parts = [
        PartSpec(
            "dashboard",
            dashboard_argv(config, layout),
            child_env,
            lambda _since: _accepts(config.dashboard.host, config.dashboard.port),
        ),
    ]
    if PROXY not in not_running:
        parts.insert(
            0,
            PartSpec(
                "proxy", proxy_argv(config, layout, config.logging.level), child_env, _proxy_ready(root)
            ),
        )
    else:
        click.echo(f"The filter is not running: {not_running[PROXY]}", err=True)
    log.info(
        "starting",
        extra={
            "data_dir": str(root.root),
            "config": str(config_file),
            "proxy": f"{layout.proxy_host}:{config.proxy.port}",
            "dashboard": f"{layout.dashboard_host}:{config.dashboard.port}",
            "mode": config.proxy.mode,
        },
    )

    def announce() -> None:
        click.echo(banner(config, layout, not_running))
        log.info(
            "ready",
            extra={
                "proxy": f"{layout.proxy_host}:{config.proxy.port}" if PROXY not in not_running else "off",
                "dashboard": dashboard_url(config, layout),
                "ca_cert": str(root.ca_cert),
            },
        )

    def part_ready(name: str) -> None:
        record_status(root, {name: {"running": True, "reason": ""}})

    def part_failed(name: str, last_lines: Sequence[str]) -> None:
        reason = failure_sentence(last_lines)
        not_running[name] = reason
        record_status(root, {name: {"running": False, "reason": reason}})
        what = "filter" if name == PROXY else name
        click.echo(f"The {what} is not running: {reason}", err=True)

    notifier = Notifier(dashboard_url(config, layout))
    supervisor = Supervisor(
        parts,
        backoff=Backoff(),
        stop_timeout_s=STOP_TIMEOUT_S,
        tasks=[
            PeriodicTask("retention", RETENTION_INTERVAL_S, lambda: purge_expired(config, root)),
            PeriodicTask("notify", NOTIFY_INTERVAL_S, lambda: notify_parents(notifier, root)),
        ],
        on_ready=announce,
        on_part_ready=part_ready,
        on_failed=part_failed,
    )
    supervisor.install_signal_handlers()
    code = supervisor.run()
    log.info("stopped", extra={"exit_code": code})
    sys.exit(code)
