"""Real parts for the proxy's end-to-end tests: a test CA, a local origin server, a proxy process and the
parents' dashboard.

Everything listens on 127.0.0.1 only, on ports the OS hands out. Waits poll with generous deadlines
because the machine running the tests is shared and slow; nothing asserts on timing.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, WSMsgType, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alert_store import Alert, AlertStore, DataDir

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180.0
ALERT_TIMEOUT_S = 90.0
CHILD = "Mai"
DEVICE = "ip:127.0.0.1"  # the device the proxy sees for every test client (they all run on loopback)

SCAM_HTML = (
    "<!doctype html><html><head><title>You won an iPhone!</title></head><body>"
    "<h1>Congratulations, you won an iPhone!</h1>"
    "<p>Pay the shipping fee with a gift card and send the code now to claim your prize. "
    "Offer ends in 10 minutes, act now!</p></body></html>"
)
BENIGN_PAGES = {
    "/homework": "<!doctype html><html><head><title>Photosynthesis</title></head><body>"
    "<h1>Photosynthesis</h1><p>Plants use sunlight, water and carbon dioxide to make glucose "
    "and oxygen. The green pigment chlorophyll absorbs light in the leaves.</p></body></html>",
    "/recipe": "<!doctype html><html><head><title>Pancakes</title></head><body><h1>Easy pancakes</h1>"
    "<p>Whisk two eggs with a cup of milk and a cup of flour. Cook on a hot pan until golden, "
    "then flip. Serve with fruit.</p></body></html>",
}
# A cloned Facebook sign-in page, as a phishing kit serves it from its own host (here the test origin).
CLONED_SIGN_IN_HTML = (
    "<!doctype html><html><head><title>Log in to Facebook</title></head><body>"
    "<h2>Facebook helps you connect and share with the people in your life.</h2>"
    "<form method='post'><input name='email' placeholder='Email address or phone number'>"
    "<input name='pass' type='password' placeholder='Password'><button>Log in</button></form></body></html>"
)
# A page the test model (tests/e2e/slow_scoring.py) holds in scoring until the test releases it.
HELD_HTML = (
    "<!doctype html><html><head><title>Held</title></head><body><p>hold-me: an ordinary page about "
    "bicycles.</p></body></html>"
)
# The stranger's side of a grooming chat, sent one line per message the child sends.
STRANGER_LINES = (
    "hey how old are you",
    "you are so mature for your age. this is our secret, don't tell your parents. send me a pic",
    "delete this chat after ok",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a test certificate authority and the origin's certificate ---------------------------------------------
@dataclass(frozen=True)
class OriginCertificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificates(directory: Path) -> OriginCertificates:
    """A throwaway CA and a leaf certificate for 127.0.0.1/localhost, written as PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "NotAlone e2e test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = OriginCertificates(
        directory / "test-ca.pem", directory / "origin.pem", directory / "origin-key.pem"
    )
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


# -- the origin server ------------------------------------------------------------------------------------
def big_page(kib: int = 100, tag: str = "") -> bytes:
    """An ordinary news-like page of about ``kib`` KiB; ``tag`` makes each one unique (defeats the cache)."""
    paragraph = (
        "<p>The city council met on Tuesday to discuss the new library opening hours, the budget "
        "for parks and a safer crossing near the primary school.</p>"
    )
    count = kib * 1024 // len(paragraph)
    return (
        f"<!doctype html><html><head><title>Town news {tag}</title></head><body>"
        + paragraph * count
        + f"<p>{tag}</p></body></html>"
    ).encode()


@dataclass
class Origin:
    """An aiohttp origin on its own thread and event loop, serving HTTP and HTTPS on two ports."""

    certificates: OriginCertificates
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def _app(self) -> web.Application:
        async def scam(request: web.Request) -> web.Response:
            return web.Response(text=SCAM_HTML, content_type="text/html", charset="utf-8")

        async def benign(request: web.Request) -> web.Response:
            return web.Response(text=BENIGN_PAGES[request.path], content_type="text/html", charset="utf-8")

        async def big(request: web.Request) -> web.Response:
            body = big_page(int(request.query.get("kib", "100")), request.query.get("n", ""))
            return web.Response(body=body, content_type="text/html", charset="utf-8")

        async def cloned_sign_in(request: web.Request) -> web.Response:
            return web.Response(text=CLONED_SIGN_IN_HTML, content_type="text/html", charset="utf-8")

        async def held(request: web.Request) -> web.Response:
            return web.Response(text=HELD_HTML, content_type="text/html", charset="utf-8")

        async def style(request: web.Request) -> web.Response:
            return web.Response(text="body { color: navy }", content_type="text/css")

        async def chat(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            lines = iter(STRANGER_LINES)
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                line = next(lines, None)
                if line is None:
                    break
                await ws.send_str(json.dumps({"type": "message", "from": "sam_2011", "text": line}))
            await ws.close()
            return ws

        app = web.Application()
        app.router.add_get("/win", scam)
        for path in BENIGN_PAGES:
            app.router.add_get(path, benign)
        app.router.add_get("/big", big)
        app.router.add_get("/held", held)
        app.router.add_get("/signin", cloned_sign_in)
        app.router.add_get("/style.css", style)
        app.router.add_get("/ws/dm/{peer}", chat)
        return app

    def start(self) -> Origin:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.http_port).start())
            loop.run_until_complete(
                web.TCPSite(
                    self._runner, "127.0.0.1", self.https_port, ssl_context=self.certificates.server_context()
                ).start()
            )
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        threading.Thread(target=run, name="e2e-origin", daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError("the origin server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)


# -- the proxy process ------------------------------------------------------------------------------------
@dataclass
class ProxyProcess:
    data_dir: DataDir
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_ssl(self) -> ssl.SSLContext:
        """A client context that trusts only the proxy's CA, as a child's configured device does."""
        return ssl.create_default_context(cafile=str(self.data_dir.ca_cert))

    def store(self) -> AlertStore:
        return AlertStore(self.data_dir.database)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until the port accepts connections and the addon reports its scoring status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the proxy exited early:\n{self.log()}")
            if self.data_dir.ca_cert.exists() and self.data_dir.database.exists() and accepts(self.port):
                with self.store() as store:
                    if "status.proxy" in store.settings():
                        return
            time.sleep(0.2)
        raise RuntimeError(f"the proxy was not ready in {timeout:.0f}s:\n{self.log()}")

    def wait_for_alerts(self, count: int, timeout: float = ALERT_TIMEOUT_S) -> list[Alert]:
        return poll(lambda: (alerts := self.store_list()) and len(alerts) >= count and alerts, timeout)

    def store_list(self) -> list[Alert]:
        with self.store() as store:
            return store.list(limit=1000)

    def counters(self) -> dict[str, int]:
        with self.store() as store:
            return store.counters()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def poll(condition: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    """Call ``condition`` until it returns something truthy; fail, naming ``what``, after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not met within {timeout:.0f}s")


def start_proxy(
    data_root: Path,
    certificates: OriginCertificates,
    *,
    mode: str = "monitor",
    via_mitmdump: bool = False,
    scripts: tuple[Path, ...] = (),
    options: dict[str, str] | None = None,
    log_file: Path | None = None,
    listen_host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
) -> ProxyProcess:
    """Start ``notalone proxy`` (or ``mitmdump -s proxy_addon/addon.py``) on a free loopback port.

    The log goes to ``data_root/proxy.log`` unless ``log_file`` says elsewhere (a data directory on a disk
    that is made to fill up)."""
    data_dir = DataDir(data_root).ensure()
    AlertStore(data_dir.database).close()  # create the schema before two processes race to (see report)
    port = free_port()
    settings = {"ssl_verify_upstream_trusted_ca": str(certificates.ca_file), **(options or {})}
    if via_mitmdump:
        command = [
            str(BIN / "mitmdump"),
            "--listen-host",
            listen_host,
            "--listen-port",
            str(port),
            "--set",
            f"confdir={data_dir.confdir}",
            "-s",
            str(ROOT / "proxy_addon" / "addon.py"),
        ]
        for script in scripts:
            command += ["-s", str(script)]
        settings |= {"notalone_data_dir": str(data_root), "notalone_mode": mode}
    else:
        command = [
            sys.executable,
            "-m",
            "notalone",
            "proxy",
            "--listen-host",
            listen_host,
            "--listen-port",
            str(port),
            "--data-dir",
            str(data_root),
            "--mode",
            mode,
        ]
    for name, value in settings.items():
        command += ["--set", f"{name}={value}"]
    log_file = log_file or data_root / "proxy.log"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")} | (env or {})
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
        )
    proxy = ProxyProcess(data_dir, port, process, log_file)
    try:
        proxy.wait_ready()
    except BaseException:
        proxy.stop()
        raise
    return proxy


def assign_child(data_root: Path, child: str = CHILD, device: str = DEVICE) -> None:
    """Set up ``data_root`` as a parent does in the dashboard: add ``child`` and assign it ``device``."""
    with AlertStore(DataDir(data_root).ensure().database) as store:
        store.add_child(child)
        store.assign_device(device, child)


# -- the parents' dashboard -------------------------------------------------------------------------------
@contextmanager
def serving_dashboard(data_root: Path, port: int) -> Iterator[str]:
    """The dashboard app over ``data_root``, served by waitress on a thread on 127.0.0.1; yields its URL."""
    from waitress.server import create_server

    from parent_ui import create_app

    app = create_app({"DATA_DIR": str(data_root)})
    server = create_server(app, host="127.0.0.1", port=port, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(timeout=5)


# -- a child's browser ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str]


async def _fetch(
    proxy: ProxyProcess, url: str, headers: dict[str, str] | None, allow_redirects: bool
) -> Fetched:
    async with (
        ClientSession(trust_env=False, auto_decompress=True) as session,
        session.get(
            url,
            proxy=proxy.url,
            ssl=proxy.client_ssl(),
            headers=headers or {},
            allow_redirects=allow_redirects,
        ) as response,
    ):
        return Fetched(response.status, await response.read(), dict(response.headers))


def fetch(
    proxy: ProxyProcess, url: str, headers: dict[str, str] | None = None, allow_redirects: bool = True
) -> Fetched:
    """GET ``url`` through the proxy, trusting only the proxy's CA."""
    return asyncio.run(_fetch(proxy, url, headers, allow_redirects))


async def _chat(proxy: ProxyProcess, url: str, child_lines: tuple[str, ...]) -> list[str]:
    received = []
    async with (
        ClientSession(trust_env=False) as session,
        session.ws_connect(url, proxy=proxy.url, ssl=proxy.client_ssl()) as ws,
    ):
        for line in child_lines:
            await ws.send_str(json.dumps({"type": "message", "text": line}))
            reply = await ws.receive(timeout=60)
            if reply.type != WSMsgType.TEXT:
                break
            received.append(json.loads(reply.data)["text"])
    return received


def chat(proxy: ProxyProcess, url: str, child_lines: tuple[str, ...]) -> list[str]:
    """Talk over a WebSocket through the proxy: send each line, read the other side's reply."""
    return asyncio.run(_chat(proxy, url, child_lines))
