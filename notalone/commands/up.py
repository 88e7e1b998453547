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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from alert_store import AlertStore, DataDir, SettingKey, default_data_dir
from notalone.commands.proxy import config_options
from notalone.config import (
    Config,
    ConfigError,
    environment_for,
    load_config,
    write_example_config,
)
from notalone.lan import advertised_host, port_free
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


def banner(config: Config, layout: Layout) -> str:
    proxy = f"{layout.proxy_host}:{config.proxy.port}"
    dashboard = f"http://{layout.dashboard_host}:{config.dashboard.port}/"
    lines = [
        "",
        "NotAlone is running.",
        f"  Proxy for children's devices  {proxy}  (set it as the device's HTTP and HTTPS proxy)",
        f"  Parent dashboard              {dashboard}",
    ]
    if not _setup_done(layout.data_dir):
        lines.append(f"  First-run setup               {dashboard}setup  (choose the parent password first)")
    lines += [
        f"  CA certificate                {layout.data_dir.ca_cert}",
        "      A child's device must trust it: with the proxy set, open http://mitm.it on the device,",
        f"      or follow the dashboard's device pages at {dashboard}setup-device/",
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


# -- the command ------------------------------------------------------------------------------------------
def parse_sets(items: tuple[str, ...]) -> dict[str, tuple[str, object]]:
    overrides: dict[str, tuple[str, object]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise click.BadParameter(f"expected SECTION.KEY=VALUE, not {item!r}", param_hint="--set")
        overrides[key.strip()] = (f"--set {key.strip()}", value)
    return overrides


FLAG_KEYS = {  # flag name -> config key; every flag is a shortcut for --set
    "listen_host": "proxy.listen_host",
    "proxy_port": "proxy.port",
    "mode": "proxy.mode",
    "dashboard_host": "dashboard.host",
    "dashboard_port": "dashboard.port",
    "log_level": "logging.level",
}


@click.command("up")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="NotAlone's data directory (default: $NOTALONE_DATA_DIR or ~/.local/share/notalone).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (default: config.toml in the data directory, written on first run).",
)
@click.option("--listen-host", default=None, help="proxy.listen_host: address the proxy listens on.")
@click.option("--proxy-port", default=None, help="proxy.port (default 8080).")
@click.option("--mode", default=None, help="proxy.mode: monitor, warn or block.")
@click.option("--dashboard-host", default=None, help="dashboard.host (default 0.0.0.0).")
@click.option("--dashboard-port", default=None, help="dashboard.port (default 8000).")
@click.option("--log-level", default=None, help="logging.level: debug, info, warning or error.")
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
    """Start the proxy and the parent dashboard, and keep them running until Ctrl-C."""
    os.umask(0o077)  # the database, the CA key and config.toml are private to this user
    root = DataDir((data_dir or default_data_dir()).expanduser()).ensure()
    config_file = config_path or root.config_file
    wrote_example = False
    if config_path is None:
        wrote_example = write_example_config(config_file)
    elif not config_file.is_file():
        raise click.ClickException(f"config file not found: {config_file}")

    overrides = parse_sets(sets)
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
    for key, host, port in (
        ("proxy.port", config.proxy.listen_host, config.proxy.port),
        ("dashboard.port", config.dashboard.host, config.dashboard.port),
    ):
        if not port_free(host, port):
            raise click.ClickException(
                f"{key}: port {port} is already in use (is NotAlone or another proxy running?); "
                f"choose another with --set {key}=PORT"
            )

    layout = Layout(
        root, config_file, advertised_host(config.proxy.listen_host), advertised_host(config.dashboard.host)
    )
    child_env = {"PYTHONUNBUFFERED": "1", **flag_env}
    parts = [
        PartSpec("proxy", proxy_argv(config, layout, config.logging.level), child_env, _proxy_ready(root)),
        PartSpec(
            "dashboard",
            dashboard_argv(config, layout),
            child_env,
            lambda _since: _accepts(config.dashboard.host, config.dashboard.port),
        ),
    ]
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
        click.echo(banner(config, layout))
        log.info(
            "ready",
            extra={
                "proxy": f"{layout.proxy_host}:{config.proxy.port}",
                "dashboard": f"http://{layout.dashboard_host}:{config.dashboard.port}/",
                "ca_cert": str(root.ca_cert),
            },
        )

    notifier = Notifier(f"http://{layout.dashboard_host}:{config.dashboard.port}/")
    supervisor = Supervisor(
        parts,
        backoff=Backoff(),
        stop_timeout_s=STOP_TIMEOUT_S,
        tasks=[
            PeriodicTask("retention", RETENTION_INTERVAL_S, lambda: purge_expired(config, root)),
            PeriodicTask("notify", NOTIFY_INTERVAL_S, lambda: notify_parents(notifier, root)),
        ],
        on_ready=announce,
    )
    supervisor.install_signal_handlers()
    code = supervisor.run()
    log.info("stopped", extra={"exit_code": code})
    sys.exit(code)
