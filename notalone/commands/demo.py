"""``notalone demo``: a pretend child browses risky and ordinary demo pages through the running proxy."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from alert_store import Alert, AlertFilter, AlertStore, DataDir, SettingKey, default_data_dir
from notalone.commands import config_option, data_dir_option
from notalone.config import Config, ConfigError, load_config
from notalone.lan import advertised_host

if TYPE_CHECKING:
    from notalone.demo import Chat

ALERT_POLL_S = 1.0


def _parse_proxy(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, not {value!r}", param_hint="--proxy")
    return host.strip("[]"), int(port)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:
        return False


async def _run(proxy_url: str, pace_s: float, keep_serving: bool, chats: list[Chat]):
    from notalone.demo import load_pages
    from notalone.demo.child import Device
    from notalone.demo.origin import start_origin

    pages = load_pages()
    origin = await start_origin(pages, chats)
    click.echo(f"Demo sites on {origin.url} (loopback only); the pretend child uses the proxy {proxy_url}")
    try:
        visits = await Device(proxy_url, pace_s=pace_s, say=click.echo).browse(origin.url, pages, chats)
        if keep_serving:
            click.echo(
                f"Still serving the demo sites on {origin.url}; set your browser's proxy and open "
                "them yourself. Ctrl-C to stop."
            )
            await asyncio.Event().wait()
    finally:
        await origin.stop()
    return visits


def _watch_alerts(
    database: Path, since: float, risky_paths: frozenset[str], wait_s: float
) -> dict[str, list[Alert]]:
    """Poll the store until every risky page and chat has an alert (or ``wait_s`` passes); by path."""
    deadline = time.monotonic() + wait_s
    while True:
        with AlertStore(database) as store:
            found = store.list(AlertFilter(since=since), limit=1000)
        by_path: dict[str, list[Alert]] = {}
        for alert in found:
            by_path.setdefault(urlsplit(alert.url).path or alert.app, []).append(alert)
        if risky_paths <= by_path.keys() or time.monotonic() >= deadline:
            return by_path
        time.sleep(ALERT_POLL_S)


def running_addresses(config: Config, database: Path) -> tuple[str, str]:
    """The proxy (host:port, as this machine reaches it) and the dashboard URL a parent opens.

    ``notalone up`` records what it printed in the store (its flags may differ from config.toml); the
    settings in force (file and environment) stand in when it has not run with this data directory.
    """
    proxy = f"127.0.0.1:{config.proxy.port}"
    dashboard = f"http://{advertised_host(config.dashboard.host)}:{config.dashboard.port}/"
    if database.is_file():
        with AlertStore(database) as store:
            status = store.settings().get(SettingKey.UP_STATUS)
        if isinstance(status, dict):
            if isinstance(status.get("proxy_local"), str):
                proxy = status["proxy_local"]
            if isinstance(status.get("dashboard"), str):
                dashboard = status["dashboard"]
    return proxy, dashboard


def _report(by_path: dict[str, list[Alert]], risky_paths: frozenset[str]) -> None:
    for path in sorted(risky_paths | by_path.keys()):
        alerts = by_path.get(path, [])
        if not alerts:
            click.echo(f"  {'no alert':12} {path}  (expected one)")
            continue
        top = max(alerts, key=lambda a: a.probability)
        note = "" if path in risky_paths else "  (a false alarm: this one is harmless)"
        click.echo(
            f"  {top.category:8} x{len(alerts):<3} {top.severity:6} {top.probability:.2f}  {path}{note}"
        )


@click.command("demo")
@click.option(
    "--proxy",
    "proxy",
    default=None,
    metavar="HOST:PORT",
    help="The running NotAlone proxy (default: 127.0.0.1 and the port `notalone up` uses).",
)
@data_dir_option(
    "NotAlone's data directory, to read the settings and watch alerts arrive "
    "(default: $NOTALONE_DATA_DIR or ~/.local/share/notalone)."
)
@config_option()
@click.option(
    "--pace",
    "pace_s",
    default=0.4,
    show_default=True,
    type=click.FloatRange(0, 10),
    help="Seconds between the child's steps.",
)
@click.option(
    "--wait",
    "wait_s",
    default=90.0,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="How long to watch for the alerts after the browsing.",
)
@click.option(
    "--keep-serving",
    is_flag=True,
    help="Keep the demo sites up afterwards, to browse them yourself through the proxy.",
)
def demo(
    proxy: str | None,
    data_dir: Path | None,
    config_file: Path | None,
    pace_s: float,
    wait_s: float,
    keep_serving: bool,
) -> None:
    """Send a pretend child's browsing through the running proxy, so the dashboard shows real alerts.

    Start NotAlone first (`notalone up` or `make run`). The demo serves its own pages and chats on
    127.0.0.1 (a free-Robux scam, an 'online kidnapping' chat, grooming chats in English and Vietnamese,
    homework and game guides) and visits them through the proxy; it never writes an alert itself.
    """
    root = DataDir(data_dir or default_data_dir())
    try:
        config = load_config(config_file or root.config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    running_proxy, dashboard_url = running_addresses(config, root.database)
    host, port = _parse_proxy(proxy or running_proxy)
    if not _reachable(host, port):
        raise click.ClickException(f"no proxy answers on {host}:{port}; start it with `notalone up` first")
    proxy_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    from notalone.demo import RISKY_PAGES, load_chats

    # Fresh conversations each run, so that running the demo again raises its alerts again.
    chats = load_chats(run=secrets.token_hex(3))
    started = time.time()
    visits = asyncio.run(_run(proxy_url, pace_s, keep_serving, chats))
    failed = [v for v in visits if not v.ok]
    for visit in failed:
        click.echo(f"  did not go as expected: {visit.what} ({visit.note})", err=True)

    dashboard = f"{dashboard_url}alerts/"
    if not root.database.is_file():
        click.echo(f"Done. Open the dashboard, {dashboard}, to see the alerts.")
    else:
        risky = frozenset(RISKY_PAGES) | {chat.path for chat in chats if chat.risky}
        click.echo(f"Waiting up to {wait_s:.0f}s for the proxy to score what the child saw...")
        by_path = _watch_alerts(root.database, started, risky, wait_s)
        _report(by_path, risky)
        if not by_path:
            raise click.ClickException(
                "no alerts arrived; check the `notalone up` log (is scoring on, is this its data directory?)"
            )
        total = sum(len(alerts) for alerts in by_path.values())
        click.echo(f"{total} alert(s). Open the dashboard, {dashboard}, to review them.")
    if failed:
        raise click.ClickException(f"{len(failed)} step(s) of the demo failed (see above)")
