"""Every row of the proxy's table (issue 12), bare mitmdump measured in the same run, side by side.

Run: ``.venv/bin/python bench/proxy_bench.py [--rounds 5 --per-round 40 --kib 100] [--quick] [--json]``.

1. Pages/s and p50 through bare mitmdump vs. mitmdump with the NotAlone addons (monitor, warn): a local origin
   serves ordinary ~100 KB HTML pages, each one unique so that no score cache helps; the configurations
   alternate in short rounds so that load from other users of the machine falls on all of them alike.
2. Resident memory of the whole process tree (the proxy and its scoring process) after 300 distinct 40 KB
   pages, ``notalone proxy`` against bare mitmdump.
3. ``notalone proxy`` killed with SIGKILL: how many processes it started are still alive 10 s later.
4. The hostile-body corpus (tests/e2e/hardening_support.py: bombs, a 50 MB page, binary, deep nesting, bad
   charsets, deep and wide JSON, empty), twice, through both: bytes passed unchanged, growth of the tree.

Targets: memory <= 250 MB; nothing survives SIGKILL; monitor >= 0.90 x bare pages/s and <= 1 ms added p50;
warn <= 3 ms added p50; corpus growth <= 150 MB.
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
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from hardening_support import NastyOrigin, fetch_raw, tree_rss_kib  # noqa: E402
from proxy_harness import ProxyProcess, make_certificates, start_proxy  # noqa: E402

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
        body = page(int(request.query.get("kib", kib)), request.query.get("n", ""))
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
    cpu_proxy: float = 0.0  # CPU seconds of the proxy process during the measured rounds
    cpu_children: float = 0.0  # ... and of the processes it started (the scoring process)

    def cpu(self) -> tuple[float, float]:
        assert self.process is not None
        return cpu_seconds(self.process.pid), sum(cpu_seconds(p) for p in descendants(self.process.pid))

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
        Config("monitor", {"notalone_mode": "monitor"}, addon=True),
        Config("warn", {"notalone_mode": "warn"}, addon=True),
    ]
    with tempfile.TemporaryDirectory(prefix="notalone-bench-") as tmp:
        try:
            for config in configs:
                config.start(Path(tmp))
            for config in configs:
                config.wait_ready()
            serial = 0
            for config in configs:  # warm up connections, caches and the scoring processes
                serial = run_round(config, origin_port, args.warmup, serial)
                config.latencies.clear()
                config.elapsed = 0.0
            before = {c.name: c.cpu() for c in configs}
            for _ in range(args.rounds):
                for config in configs:
                    serial = run_round(config, origin_port, args.per_round, serial)
            time.sleep(2)  # monitor mode: let the scoring process finish the queued pages
            for c in configs:
                proxy, children = c.cpu()
                c.cpu_proxy, c.cpu_children = proxy - before[c.name][0], children - before[c.name][1]
        finally:
            for config in configs:
                config.stop()
        if not args.json:
            report(configs, args)
        rows = process_rows(Path(tmp), origin_port, args)
    if args.json:
        print_json(figures_of(configs, args) + rows)
        return
    print()
    for f in rows:
        print(f"{f['metric']:<58} {f['value']:>10} {f['unit']:<6} target {f['target'] or '-'}")


# -- memory, SIGKILL and the hostile corpus ------------------------------------------------------------------
def bare_mitmdump(root: Path) -> ProxyProcess:
    """Bare mitmdump (no addon) on a loopback port, wrapped like the harness's proxies."""
    data = DataDir(root).ensure()
    port = free_port()
    log_file = root / "bare.log"
    command = [str(MITMDUMP), "--listen-host", "127.0.0.1", "--listen-port", str(port), "-q"]
    command += ["--set", f"confdir={data.confdir}"]
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (data.ca_cert.exists() and accepts(port)):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("bare mitmdump did not start")
        time.sleep(0.1)
    return ProxyProcess(data, port, process, log_file)


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def fetch_pages(port: int, origin_port: int, count: int, kib: int, tag: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for i in range(count):
            conn.request("GET", f"http://127.0.0.1:{origin_port}/page?n={tag}-{i}&kib={kib}")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{tag}: unexpected status {response.status}")
    finally:
        conn.close()


def settle(proxy: ProxyProcess, seconds: float = 3.0) -> None:
    """Let the worker finish what it queued (bounded: the queue holds at most 256 jobs)."""
    time.sleep(seconds)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


def process_rows(tmp: Path, origin_port: int, args: argparse.Namespace) -> list[Figure]:
    pages = 60 if args.quick else 300
    certificates = make_certificates(tmp)
    figures: list[Figure] = []
    bare = bare_mitmdump(tmp / "bare-memory")
    notalone = start_proxy(tmp / "notalone-memory", certificates, mode="monitor")
    try:
        fetch_pages(bare.port, origin_port, pages, 40, "bare")
        fetch_pages(notalone.port, origin_port, pages, 40, "notalone")
        settle(notalone)
        bare_mib = tree_rss_kib(bare.process.pid) / 1024
        tree_mib = tree_rss_kib(notalone.process.pid) / 1024
        name = f"after {pages} distinct 40 KB pages"
        figures.append(figure("proxy", f"bare mitmdump RSS {name}", bare_mib, "MB"))
        figures.append(figure("proxy", f"notalone proxy tree RSS {name}", tree_mib, "MB", "<= 250"))
        family = descendants(notalone.process.pid)
        notalone.process.send_signal(signal.SIGKILL)
        notalone.process.wait(30)
        time.sleep(10)
        survivors = [pid for pid in family if Path(f"/proc/{pid}").exists()]
        figures.append(figure("proxy", "processes alive 10 s after SIGKILL", len(survivors), "count", "<= 0"))
    finally:
        bare.stop()
        notalone.stop()
    figures += hostile_rows(tmp, certificates)
    return figures


def hostile_rows(tmp: Path, certificates: object) -> list[Figure]:
    origin = NastyOrigin(certificates).start()  # type: ignore[arg-type]
    bare = bare_mitmdump(tmp / "bare-hostile")
    notalone = start_proxy(tmp / "notalone-hostile", certificates, mode="monitor")
    figures: list[Figure] = []
    try:
        for name, proxy in (("bare mitmdump", bare), ("notalone proxy tree", notalone)):
            for path in ("/homework", "/recipe"):
                fetch_raw(proxy, origin.http + path)
            settle(proxy, 1.0)
            before = tree_rss_kib(proxy.process.pid)
            unchanged = True
            for _ in range(2):
                for path, (body, _) in origin.bodies.items():
                    got = fetch_raw(proxy, origin.http + "/nasty" + path)
                    unchanged &= got.status == 200 and got.body == body
            settle(proxy)
            growth = (tree_rss_kib(proxy.process.pid) - before) / 1024
            target = "<= 150" if proxy is notalone else ""
            figures.append(figure("proxy", f"{name} RSS growth, hostile corpus x2", growth, "MB", target))
            passed = figure("proxy", f"{name}: hostile bodies byte for byte", unchanged, "bool", ">= 1")
            figures.append(passed)
    finally:
        bare.stop()
        notalone.stop()
        origin.stop()
    return figures


def figures_of(configs: list[Config], args: argparse.Namespace) -> list[Figure]:
    bare = configs[0]
    bare_rate = len(bare.latencies) / bare.elapsed
    bare_p50 = statistics.median(bare.latencies)
    figures = [figure("proxy", f"bare pages/s ({args.kib} KiB)", bare_rate, "pages/s")]
    targets = {"monitor": ("<= 1", ">= 0.9"), "warn": ("<= 3", "")}
    for c in configs[1:]:
        added_target, ratio_target = targets.get(c.name, ("", ""))
        rate = len(c.latencies) / c.elapsed
        figures.append(figure("proxy", f"{c.name} x bare pages/s", rate / bare_rate, "ratio", ratio_target))
        added_ms = (statistics.median(c.latencies) - bare_p50) * 1000
        figures.append(figure("proxy", f"{c.name} added p50", added_ms, "ms", added_target))
        per_page = c.cpu_proxy * 1000 / len(c.latencies) - bare.cpu_proxy * 1000 / len(bare.latencies)
        figures.append(figure("proxy", f"{c.name} proxy-process CPU added per page", per_page, "ms"))
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
    print(f"{'config':<16} {columns} {'proxy CPU ms/page':>18} {'scoring CPU ms/page':>20}  counters")
    for c in configs:
        rate = len(c.latencies) / c.elapsed
        p50, p99 = statistics.median(c.latencies), percentile(c.latencies, 0.99)
        counters = {k: v for k, v in c.counters().items() if k.startswith(("queue", "errors"))}
        print(
            f"{c.name:<16} {rate:8.1f} {p50 * 1000:8.2f} {p99 * 1000:8.2f} {rate / bare_rate:9.3f} "
            f"{(p50 - bare_p50) * 1000:+8.2f} {c.cpu_proxy * 1000 / len(c.latencies):18.2f} "
            f"{c.cpu_children * 1000 / len(c.latencies):20.2f}  {counters or ''}"
        )


if __name__ == "__main__":
    main()
