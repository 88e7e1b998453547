"""Pages/s and p50/p99 latency through bare mitmdump vs. mitmdump with the NotAlone addon.

Run: ``.venv/bin/python bench/proxy_bench.py [--rounds 5 --per-round 40 --kib 100]``.

Every configuration is a real mitmdump process on a loopback port; a local origin serves ordinary ~100 KB
HTML pages, each one unique so that the addon's score cache never helps. Configurations are measured
side by side, alternating in short rounds, so that load from other users of the machine falls on all of
them alike. One sequential client with a keep-alive connection per proxy; loops are bounded.

Targets (issue 3): monitor >= 0.90 x bare pages/s and <= 1 ms added p50; warn <= 5 ms added p50.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
MITMDUMP = Path(sys.executable).with_name("mitmdump")
sys.path.insert(0, str(ROOT))

from alert_store import AlertStore, DataDir  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page(kib: int, n: str) -> bytes:
    paragraph = (
        "<p>The city council met on Tuesday to discuss the new library opening hours, the budget "
        "for parks and a safer crossing near the primary school.</p>"
    )
    body = paragraph * (kib * 1024 // len(paragraph))
    head = f"<!doctype html><html><head><title>News {n}</title></head>"
    return f"{head}<body>{body}<p>{n}</p></body></html>".encode()


def start_origin(kib: int) -> tuple[int, asyncio.AbstractEventLoop]:
    port = free_port()
    ready = threading.Event()
    holder: list[asyncio.AbstractEventLoop] = []

    async def handler(request: web.Request) -> web.Response:
        body = page(kib, request.query.get("n", ""))
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    def run() -> None:
        loop = asyncio.new_event_loop()
        holder.append(loop)
        app = web.Application()
        app.router.add_get("/page", handler)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    if not ready.wait(30):
        raise SystemExit("origin did not start")
    return port, holder[0]


@dataclass
class Config:
    name: str
    options: dict[str, str]
    addon: bool
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def start(self, workdir: Path) -> None:
        self.port = free_port()
        self.data_dir = workdir / self.name
        data = DataDir(self.data_dir).ensure()
        command = [
            str(MITMDUMP),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(self.port),
            "-q",
            "--set",
            f"confdir={data.confdir}",
        ]
        if self.addon:
            AlertStore(data.database).close()
            command += [
                "-s",
                str(ROOT / "proxy_addon" / "addon.py"),
                "--set",
                f"notalone_data_dir={data.root}",
            ]
        for name, value in self.options.items():
            command += ["--set", f"{name}={value}"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if not self.addon:
                    return
                with AlertStore(DataDir(self.data_dir).database) as store:
                    status = store.settings().get("status.proxy")
                if status and status["scoring"] == "on":
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.name} did not get ready")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def counters(self) -> dict[str, int]:
        if not self.addon or self.data_dir is None:
            return {}
        with AlertStore(DataDir(self.data_dir).database) as store:
            return store.counters()


def run_round(config: Config, origin_port: int, count: int, serial: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", config.port, timeout=60)
    started = time.perf_counter()
    try:
        for _ in range(count):
            serial += 1
            t0 = time.perf_counter()
            conn.request("GET", f"http://127.0.0.1:{origin_port}/page?n={config.name}-{serial}")
            response = conn.getresponse()
            body = response.read()
            config.latencies.append(time.perf_counter() - t0)
            if response.status != 200 or len(body) < 1000:
                raise SystemExit(f"{config.name}: unexpected response {response.status}, {len(body)} bytes")
    finally:
        conn.close()
    config.elapsed += time.perf_counter() - started
    return serial


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import Figure, figure, print_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--kib", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 rounds x 10 requests")
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON list")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.warmup = 2, 10, 3

    os.environ.pop("http_proxy", None)
    origin_port, _ = start_origin(args.kib)
    configs = [
        Config("bare", {}, addon=False),
        Config("monitor-process", {"notalone_mode": "monitor", "notalone_worker": "process"}, addon=True),
        Config("monitor-thread", {"notalone_mode": "monitor", "notalone_worker": "thread"}, addon=True),
        Config("warn", {"notalone_mode": "warn"}, addon=True),
    ]
    with tempfile.TemporaryDirectory(prefix="notalone-bench-") as tmp:
        try:
            for config in configs:
                config.start(Path(tmp))
            for config in configs:
                config.wait_ready()
            serial = 0
            for config in configs:  # warm up connections, caches and the worker process
                serial = run_round(config, origin_port, args.warmup, serial)
                config.latencies.clear()
                config.elapsed = 0.0
            for _ in range(args.rounds):
                for config in configs:
                    serial = run_round(config, origin_port, args.per_round, serial)
            if args.json:
                print_json(figures_of(configs, args))
            else:
                report(configs, args)
        finally:
            for config in configs:
                config.stop()


def figures_of(configs: list[Config], args: argparse.Namespace) -> list[Figure]:
    bare = configs[0]
    bare_rate = len(bare.latencies) / bare.elapsed
    bare_p50 = statistics.median(bare.latencies)
    figures = [figure("proxy", f"bare pages/s ({args.kib} KiB)", bare_rate, "pages/s")]
    targets = {"monitor-process": ("<= 1", ">= 0.9"), "warn": ("<= 5", "")}
    for c in configs[1:]:
        added_target, ratio_target = targets.get(c.name, ("", ""))
        rate = len(c.latencies) / c.elapsed
        figures.append(figure("proxy", f"{c.name} x bare pages/s", rate / bare_rate, "ratio", ratio_target))
        added_ms = (statistics.median(c.latencies) - bare_p50) * 1000
        figures.append(figure("proxy", f"{c.name} added p50", added_ms, "ms", added_target))
    return figures


def report(configs: list[Config], args: argparse.Namespace) -> None:
    bare = configs[0]
    bare_rate = len(bare.latencies) / bare.elapsed
    bare_p50 = statistics.median(bare.latencies)
    print(
        f"{args.kib} KiB unique HTML pages, {args.rounds} alternating rounds x {args.per_round} requests, "
        f"1 sequential client, {os.cpu_count()} CPUs"
    )
    columns = f"{'pages/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x bare/s':>9} {'+p50 ms':>8}"
    print(f"{'config':<16} {columns}  counters")
    for c in configs:
        rate = len(c.latencies) / c.elapsed
        p50, p99 = statistics.median(c.latencies), percentile(c.latencies, 0.99)
        counters = {k: v for k, v in c.counters().items() if k.startswith(("queue", "errors"))}
        print(
            f"{c.name:<16} {rate:8.1f} {p50 * 1000:8.2f} {p99 * 1000:8.2f} {rate / bare_rate:9.3f} "
            f"{(p50 - bare_p50) * 1000:+8.2f}  {counters or ''}"
        )


if __name__ == "__main__":
    main()
