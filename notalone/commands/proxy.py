"""``notalone proxy``: run mitmproxy with the NotAlone addon, its CA kept in the data directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

import click

from alert_store import MODES, AlertStore, DataDir, default_data_dir
from notalone.commands import config_option, data_dir_option
from notalone.config import DEFAULT_HOME_RANGES, Config, ConfigError, load_config
from notalone.lan import advertised_host

# Files in mitmproxy's confdir that hold the CA's private key; only we may read them.
CA_KEY_FILES = ("mitmproxy-ca.pem", "mitmproxy-ca.p12")


def ignore_pattern(host: str) -> str:
    """A mitmproxy ``ignore_hosts`` regex (matched against ``host:port``) for a host and its subdomains."""
    return rf"^(.+\.)?{re.escape(host.removeprefix('*.'))}:"


def config_options(config: Config, dashboard: str) -> dict[str, list[str]]:
    """The mitmproxy and ``notalone_*`` options the settings in force give the proxy (``--set`` values;
    the mode and the listen address are flags). ``dashboard`` is the dashboard's ``host:port``."""
    p = config.proxy
    sets = {
        "notalone_max_body": [str(p.max_body)],
        "notalone_retention_days": [str(config.retention.days)],  # the proxy purges hourly too
        "notalone_dashboard": [dashboard],
    }
    if p.home_ranges != DEFAULT_HOME_RANGES:
        sets["notalone_home_ranges"] = list(p.home_ranges)
    if p.ignore_hosts:
        sets["ignore_hosts"] = [ignore_pattern(host) for host in p.ignore_hosts]
    if p.wireguard:
        sets["mode"] = ["regular", f"wireguard@{p.wireguard_port}"]
    return sets


def settings_in_force(data_dir: DataDir, config_file: Path | None) -> Config:
    """config.toml (or ``config_file``) and the environment, with the parent's stored choices over them."""
    try:
        config = load_config(config_file or data_dir.config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    with AlertStore(data_dir.database) as store:
        return config.with_parent_settings(store.settings())[0]


def secure_confdir(data_dir: DataDir) -> None:
    """The data directory and confdir 0700, the CA key files 0600 (mitmproxy creates them 0644)."""
    data_dir.ensure()
    for name in CA_KEY_FILES:
        path = data_dir.confdir / name
        if path.exists():
            path.chmod(0o600)


async def serve(
    listen_host: str, listen_port: int, data_dir: DataDir, mode: str, overrides: tuple[str, ...]
) -> None:
    """Run a mitmproxy DumpMaster with the addon until SIGINT or SIGTERM."""
    from mitmproxy.options import Options
    from mitmproxy.tools.dump import DumpMaster

    from proxy_addon.addon import make_addons
    from proxy_addon.child_pages.ca import ensure_ca

    data_dir.ensure()
    ensure_ca(data_dir.confdir)  # before mitmproxy would make one named "mitmproxy"
    options = Options(listen_host=listen_host, listen_port=listen_port, confdir=str(data_dir.confdir))
    master = DumpMaster(options, with_termlog=True, with_dumper=False)
    master.addons.add(*make_addons())
    master.options.update(notalone_data_dir=str(data_dir.root), notalone_mode=mode)
    if overrides:
        # Passed through as given: a repeated list option (home ranges, modes) keeps every value.
        master.options.set(*overrides)
    secure_confdir(data_dir)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, master.shutdown)
    await master.run()


@click.command("proxy")
@click.option(
    "--listen-host",
    default=None,
    help="Address to listen on (default: proxy.listen_host of the settings, every interface). Clients "
    "outside the home ranges are refused whatever it is.",
)
@click.option(
    "--listen-port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Port (default: proxy.port of the settings, 8080).",
)
@data_dir_option()
@config_option()
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="monitor: alert parents only; warn: show an interstitial with 'continue'; block: without "
    "(default: proxy.mode in force).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="OPTION=VALUE",
    help="Any mitmproxy or notalone_* option, as with mitmdump --set.",
)
def proxy(
    listen_host: str | None,
    listen_port: int | None,
    data_dir: Path | None,
    config_file: Path | None,
    mode: str | None,
    overrides: tuple[str, ...],
) -> None:
    """Run the filtering proxy that children's devices use.

    Its settings are NotAlone's settings in force (config.toml, environment, the parent's choices); flags
    and ``--set`` win over them (``notalone up`` passes every one it computed that way).
    """
    given = set()
    for item in overrides:
        name, sep, _ = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected OPTION=VALUE, not {item!r}", param_hint="--set")
        given.add(name.strip())
    root = DataDir(data_dir or default_data_dir())
    os.umask(0o077)  # the CA key and the database are created private to this user
    root.ensure()
    config = settings_in_force(root, config_file)
    listen_host = config.proxy.listen_host if listen_host is None else listen_host
    listen_port = config.proxy.port if listen_port is None else listen_port
    mode = config.proxy.mode if mode is None else mode
    dashboard = f"{advertised_host(config.dashboard.host)}:{config.dashboard.port}"
    derived = config_options(config, dashboard)
    overrides = (
        *(f"{name}={value}" for name, values in derived.items() if name not in given for value in values),
        *overrides,
    )
    where = f"{listen_host or '*'}:{listen_port}"
    click.echo(f"NotAlone proxy on {where}, mode {mode}, data in {root.root}", err=True)
    click.echo(f"Devices must trust the CA certificate {root.ca_cert}", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(listen_host, listen_port, root, mode, overrides))
