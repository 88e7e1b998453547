"""Soak: many flows from concurrent clients through a real proxy while the dashboard is read.

Every tenth flow is a scam page on its own URL (one alert each is expected); the rest are ordinary pages.
Prints flows/s, errors, the resident memory of the proxy's process tree at start and end, and alerts expected
vs found.
Run: ``.venv/bin/python bench/soak_bench.py [--flows 10000] [--clients 8] [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(Path(__file__).resolve().parent)]
from aiohttp import ClientError, ClientSession  # noqa: E402
from figures import Figure, figure, print_json  # noqa: E402
from hardening_support import dashboard_client, tree_rss_kib  # noqa: E402
from proxy_harness import (  # noqa: E402
    BENIGN_PAGES,
    Origin,
    ProxyProcess,
    make_certificates,
    poll,
    start_proxy,
)

SCAM_EVERY = 10


async def drive(proxy_url: str, origin: str, flows: int, clients: int) -> tuple[int, int, set[int]]:
    """(ok, errors, scam numbers fetched)."""
    numbers = iter(range(flows))
    ok = errors = 0
    scams: set[int] = set()
    benign = list(BENIGN_PAGES)

    async def client(session: ClientSession) -> None:
        nonlocal ok, errors
        for n in numbers:
            url = f"{origin}/win?soak={n}" if n % SCAM_EVERY == 0 else f"{origin}{benign[n % len(benign)]}"
            try:
                async with session.get(url, proxy=proxy_url) as response:
                    await response.read()
                    good = response.status == 200
            except (TimeoutError, ClientError, OSError):
                good = False
            ok, errors = ok + good, errors + (not good)
            if good and n % SCAM_EVERY == 0:
                scams.add(n)

    async with ClientSession(trust_env=False) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return ok, errors, scams


def alert_count(proxy: ProxyProcess) -> int:
    with proxy.store() as store:
        return store.count()


def soak(flows: int, clients: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="notalone-soak-") as tmp:
        root = Path(tmp)
        certificates = make_certificates(root)
        origin = Origin(certificates).start()
        proxy = start_proxy(root / "data", certificates)
        reads = dashboard_errors = 0
        stop = threading.Event()

        def read_dashboard() -> None:  # a parent keeps the alerts page open and reloads it
            nonlocal reads, dashboard_errors
            client = dashboard_client(root / "data")
            while not stop.wait(0.2):
                for path in ("/alerts/", "/overview/"):
                    reads += 1
                    dashboard_errors += client.get(path).status_code != 200

        reader = threading.Thread(target=read_dashboard, daemon=True)
        try:
            rss_start = tree_rss_kib(proxy.process.pid)
            reader.start()
            started = time.perf_counter()
            ok, errors, scams = asyncio.run(drive(proxy.url, origin.http, flows, clients))
            elapsed = time.perf_counter() - started
            rss_end = tree_rss_kib(proxy.process.pid)
            expected = len(scams)
            with contextlib.suppress(AssertionError):  # reported below as found < expected
                poll(lambda: alert_count(proxy) >= expected, 300)
            found = alert_count(proxy)
            dropped = proxy.counters().get("queue.dropped", 0)
        finally:
            stop.set()
            reader.join(30)
            proxy.stop()
            origin.stop()
    return [
        figure("soak", f"flows/s ({flows} flows, {clients} clients)", ok / elapsed, "flows/s"),
        figure("soak", "client errors", errors, "flows", "<= 0"),
        figure("soak", "dashboard reads during the soak", reads, "pages"),
        figure("soak", "dashboard errors", dashboard_errors, "pages", "<= 0"),
        figure("soak", "proxy tree RSS start (proxy + scoring process)", rss_start / 1024, "MiB"),
        figure("soak", "proxy tree RSS end", rss_end / 1024, "MiB"),
        figure("soak", "RSS end / start", rss_end / rss_start, "ratio", "<= 1.5"),
        figure("soak", "alerts expected", expected, "alerts"),
        figure("soak", "alerts found / expected", found / expected if expected else 1.0, "ratio", ">= 1"),
        figure("soak", "scoring jobs dropped (queue full)", dropped, "jobs"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1,000 flows")
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON list")
    args = parser.parse_args()
    figures = soak(min(args.flows, 1_000) if args.quick else args.flows, args.clients)
    if args.json:
        print_json(figures)
        return
    for f in figures:
        print(f"{f['metric']:<44} {f['value']:>10g} {f['unit']:<8} {f['target']}")


if __name__ == "__main__":
    main()
