"""``notalone proxy``: run mitmproxy with the NotAlone addon, its CA kept in the data directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import click

from alert_store import DataDir, default_data_dir

# Files in mitmproxy's confdir that hold the CA's private key; only we may read them.
CA_KEY_FILES = ("mitmproxy-ca.pem", "mitmproxy-ca.p12")


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
    default="",
    show_default="all interfaces",
    help="Address to listen on. Clients outside the home ranges are refused whatever it is.",
)
@click.option("--listen-port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="NotAlone's data directory (default: $NOTALONE_DATA_DIR or ~/.local/share/notalone).",
)
@click.option(
    "--mode",
    type=click.Choice(["monitor", "warn", "block"]),
    default="monitor",
    show_default=True,
    help="monitor: alert parents only; warn: show an interstitial with 'continue'; block: without.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="OPTION=VALUE",
    help="Any mitmproxy or notalone_* option, as with mitmdump --set.",
)
def proxy(
    listen_host: str, listen_port: int, data_dir: Path | None, mode: str, overrides: tuple[str, ...]
) -> None:
    """Run the filtering proxy that children's devices use."""
    for item in overrides:
        name, sep, _ = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected OPTION=VALUE, not {item!r}", param_hint="--set")
    root = DataDir(data_dir or default_data_dir())
    os.umask(0o077)  # the CA key and the database are created private to this user
    root.ensure()
    where = f"{listen_host or '*'}:{listen_port}"
    click.echo(f"NotAlone proxy on {where}, mode {mode}, data in {root.root}", err=True)
    click.echo(f"Devices must trust the CA certificate {root.ca_cert}", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(listen_host, listen_port, root, mode, overrides))
