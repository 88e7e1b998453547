"""Real parts for the hardening tests: a hostile origin, raw (undecoded) fetches, HTTP/2 and WebSocket
clients, the proxy's resident memory and the dashboard in its own process. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import html
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import brotli
import h2.connection
import h2.events
from aiohttp import ClientSession, WSMsgType, web
from flask.testing import FlaskClient
from proxy_harness import ROOT, START_TIMEOUT_S, Origin, ProxyProcess, accepts, free_port, poll

from parent_ui import create_app

MIB = 1024 * 1024


def _deterministic_bytes(size: int, seed: int = 7) -> bytes:
    """Incompressible-looking bytes without os.urandom, so a body can be rebuilt for comparison."""
    out = bytearray()
    state = seed
    while len(out) < size:
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        out += state.to_bytes(8, "little")
    return bytes(out[:size])


def nasty_bodies() -> dict[str, tuple[bytes, dict[str, str]]]:
    """path -> (raw body as sent, headers): the bad-input corpus, built once."""
    zeros = b"\0" * (64 * MIB)
    html_zeros = b"<html><body>" + b" " * (64 * MIB) + b"</body></html>"
    mixed = (
        "<html><body><p>Xin chào các bạn, hôm nay trời đẹp.</p>".encode()
        + "<p>Caf\xe9 cr\xe8me br\xfbl\xe9e</p>".encode("latin-1")
        + "<p>Привет</p></body></html>".encode("koi8-r")
    )
    deep_json = b'{"a":' * 30_000 + b'"x"' + b"}" * 30_000
    return {
        "/deep-html": (b"<div>" * 200_000 + b"deep" + b"</span>" * 1000, {"content-type": "text/html"}),
        "/malformed-html": (
            b"<html><body><p <<a href='x\"><script>alert(1)</scr<!-- -->ipt><table><td>"
            b"</b></i></html></html><![CDATA[ >" * 2000,
            {"content-type": "text/html"},
        ),
        "/big-50mb": (
            b"<html><body>" + b"<p>lots of words here</p>" * (50 * MIB // 25) + b"</body></html>",
            {"content-type": "text/html; charset=utf-8"},
        ),
        "/binary-as-html": (_deterministic_bytes(512 * 1024), {"content-type": "text/html"}),
        "/wrong-charset": (
            "<html><body><p>Привет, как дела? Всё хорошо.</p></body></html>".encode("cp1251"),
            {"content-type": "text/html; charset=utf-8"},
        ),
        "/unknown-charset": (
            b"<html><body><p>caf\xe9 and cr\xe8me</p></body></html>",
            {"content-type": "text/html; charset=x-no-such-charset"},
        ),
        "/missing-charset": (
            b'<html><head><meta charset="koi8-r"></head><body>\xf0\xd2\xc9\xd7\xc5</body>',
            {"content-type": "text/html"},
        ),
        "/mixed-encodings": (mixed, {"content-type": "text/html; charset=utf-8"}),
        "/gzip-bomb": (
            gzip.compress(html_zeros, compresslevel=9),
            {"content-type": "text/html", "content-encoding": "gzip"},
        ),
        "/brotli-bomb": (
            brotli.compress(html_zeros, quality=5),
            {"content-type": "text/html", "content-encoding": "br"},
        ),
        "/deflate-bomb": (
            zlib.compress(zeros, 9),
            {"content-type": "application/json", "content-encoding": "deflate"},
        ),
        "/bad-gzip": (
            b"\x1f\x8b\x08\x00this is not gzip at all",
            {"content-type": "text/html", "content-encoding": "gzip"},
        ),
        "/json-deep": (deep_json, {"content-type": "application/json"}),
        "/json-wide": (
            json.dumps([{"id": i, "text": f"hello friend {i}"} for i in range(40_000)]).encode(),
            {"content-type": "application/json"},
        ),
        "/json-bomb-strings": (
            json.dumps({"text": "a " * 900_000}).encode(),
            {"content-type": "application/json"},
        ),
        "/empty-html": (b"", {"content-type": "text/html"}),
        "/empty-json": (b"", {"content-type": "application/json"}),
    }


class NastyOrigin(Origin):
    """The e2e origin plus the bad-input corpus, a chunked page, a slow page and a hostile WebSocket."""

    bodies: dict[str, tuple[bytes, dict[str, str]]]

    def _app(self) -> web.Application:
        app = super()._app()
        self.bodies = nasty_bodies()

        async def nasty(request: web.Request) -> web.Response:
            body, headers = self.bodies[request.path.removeprefix("/nasty")]
            return web.Response(body=body, headers=headers)

        async def chunked(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"content-type": "text/html; charset=utf-8"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for part in chunked_parts():
                await response.write(part)
            await response.write_eof()
            return response

        async def slow(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"content-type": "text/html"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            try:
                for _ in range(100):
                    await response.write(b"<p>" + b"slow " * 2000 + b"</p>")
                    await asyncio.sleep(0.05)
            except (ConnectionResetError, asyncio.CancelledError):
                pass  # the client went away: that is the case under test
            return response

        async def hostile_ws(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(max_msg_size=0)
            await ws.prepare(request)
            async for message in ws:
                if message.type == WSMsgType.TEXT and message.data == "huge":
                    await ws.send_str("x" * (8 * MIB))
                elif message.type == WSMsgType.TEXT and message.data == "binary":
                    await ws.send_bytes(_deterministic_bytes(MIB))
                elif message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await ws.send_str(json.dumps({"echo": len(message.data)}))
                else:
                    break
            return ws

        async def attack(request: web.Request) -> web.Response:
            return web.Response(
                text=attack_page(request.match_info["name"]), content_type="text/html", charset="utf-8"
            )

        async def marked(request: web.Request) -> web.Response:
            return web.Response(
                body=marked_page(request.match_info["marker"]), content_type="text/html", charset="utf-8"
            )

        for path in self.bodies:
            app.router.add_get("/nasty" + path, nasty)
        app.router.add_get("/attack/{name}", attack)
        app.router.add_get("/marked/{marker}", marked)
        app.router.add_get("/chunked", chunked)
        app.router.add_get("/slow", slow)
        app.router.add_get("/ws/hostile", hostile_ws)
        return app


# Text that attacks the dashboard, shown to the child as visible page text (escaped in the page's HTML, so
# the classifier reads it literally) around a scam the model flags.
DASHBOARD_ATTACKS = {
    "script": '<script>alert("pwned")</script>',
    "handler": '<img src=x onerror=alert(1)> "><svg onload=alert(2)>',
    "jsurl": '<a href="javascript:alert(document.cookie)">claim</a> javascript:alert(1)',
    "css": '<style>body{display:none}</style><div style="background:url(javascript:alert(1))">x</div>',
    "long": "A" * 1_000,  # one unbroken word, twice the snippet cap; far longer ones dilute the page
    "rtl": "invoice\u202egpj.exe and \u2067hidden\u2069 text",
}


def attack_page(name: str) -> str:
    payload = html.escape(DASHBOARD_ATTACKS[name])
    return (
        f"<!doctype html><html><head><title>You won {payload[:200]}</title></head><body>"
        "<h1>Congratulations, you won an iPhone!</h1>"
        f"<p>Pay the shipping fee with a gift card {payload} and send the code now to claim your prize. "
        "Offer ends in 10 minutes, act now!</p></body></html>"
    )


def marked_page(marker: str) -> bytes:
    """A long ordinary page with ``marker`` deep inside, far from anything an alert would quote."""
    paragraph = (
        "<p>The city council met on Tuesday to discuss the library opening hours, the budget for "
        "parks and a safer crossing near the primary school.</p>"
    )
    return (
        f"<!doctype html><html><head><title>Town news</title></head><body>{paragraph * 400}"
        f"<p>{marker}</p>{paragraph * 400}</body></html>"
    ).encode()


def chunked_parts() -> list[bytes]:
    story = [f"<p>chunk {i} of the story</p>".encode() for i in range(200)]
    return [b"<html><body>", *story, b"</body></html>"]


# -- clients ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    headers: dict[str, str]


async def _fetch_raw(proxy: ProxyProcess, url: str) -> RawResponse:
    async with (
        ClientSession(trust_env=False, auto_decompress=False) as session,
        session.get(url, proxy=proxy.url, ssl=proxy.client_ssl()) as response,
    ):
        return RawResponse(response.status, await response.read(), dict(response.headers))


def fetch_raw(proxy: ProxyProcess, url: str) -> RawResponse:
    """GET through the proxy and return the body as it came over the wire (never decompressed)."""
    return asyncio.run(_fetch_raw(proxy, url))


async def _disconnect_mid_flow(proxy: ProxyProcess, url: str) -> int:
    async with ClientSession(trust_env=False) as session, session.get(url, proxy=proxy.url) as response:
        first = await response.content.read(1024)
        response.close()  # hang up while the origin is still sending
        return len(first)


def disconnect_mid_flow(proxy: ProxyProcess, url: str) -> int:
    return asyncio.run(_disconnect_mid_flow(proxy, url))


async def _websocket_session(
    proxy: ProxyProcess, url: str, sends: list[str | bytes]
) -> list[tuple[str, int]]:
    received: list[tuple[str, int]] = []
    async with (
        ClientSession(trust_env=False) as session,
        session.ws_connect(url, proxy=proxy.url, ssl=proxy.client_ssl(), max_msg_size=0) as ws,
    ):
        for item in sends:
            if isinstance(item, bytes):
                await ws.send_bytes(item)
            else:
                await ws.send_str(item)
            reply = await ws.receive(timeout=120)
            received.append((reply.type.name, len(reply.data)))
    return received


def websocket_session(proxy: ProxyProcess, url: str, sends: list[str | bytes]) -> list[tuple[str, int]]:
    """Send each item over one WebSocket through the proxy; return (type, size) of each reply."""
    return asyncio.run(_websocket_session(proxy, url, sends))


def http2_get(proxy: ProxyProcess, host: str, port: int, path: str) -> tuple[int, bytes, str]:
    """GET over HTTP/2 to the proxy (CONNECT, then TLS with ALPN h2 trusting the proxy's CA).

    Returns (status, body, negotiated ALPN protocol)."""
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=60)
    try:
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the proxy closed the CONNECT")
            reply += chunk
        if b" 200" not in reply.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"CONNECT refused: {reply[:100]!r}")
        context = proxy.client_ssl()
        context.set_alpn_protocols(["h2"])
        tls = context.wrap_socket(sock, server_hostname=host)
        conn = h2.connection.H2Connection()
        conn.initiate_connection()
        conn.send_headers(
            1,
            [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", f"{host}:{port}")],
            end_stream=True,
        )
        tls.sendall(conn.data_to_send())
        status, body, done = 0, bytearray(), False
        while not done:
            data = tls.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    done = True
            tls.sendall(conn.data_to_send())
        return status, bytes(body), tls.selected_alpn_protocol() or ""
    finally:
        sock.close()


# -- the proxy process ------------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and every live process it started (the scoring process), in KiB."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    family, frontier = [pid], [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        family += kids
        frontier += kids
    total = 0
    for member in family:
        with contextlib.suppress(OSError, RuntimeError):
            total += rss_kib(member)
    return total


def files_under(root: os.PathLike[str] | str) -> list[str]:
    return [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]


# -- the dashboard over the proxy's data directory ----------------------------------------------------------
DASHBOARD_PASSWORD = "correct horse battery"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def dashboard_client(data_root: os.PathLike[str] | str, children: tuple[str, ...] = ("Mai",)) -> FlaskClient:
    """A Flask test client of the real dashboard app over ``data_root``: set up (if needed) and logged in."""
    app = create_app({"TESTING": True, "DATA_DIR": str(data_root)})
    client = app.test_client()
    setup = client.get("/setup")
    if setup.status_code == 200:
        response = client.post(
            "/setup",
            data={
                "csrf_token": _csrf(setup.get_data(as_text=True)),
                "password": DASHBOARD_PASSWORD,
                "confirm": DASHBOARD_PASSWORD,
                "children": "\n".join(children),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    else:
        token = _csrf(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"csrf_token": token, "password": DASHBOARD_PASSWORD})
        assert response.status_code == 302
    return client


@dataclass
class DashboardProcess:
    """``notalone dashboard`` (waitress) over ``data_root`` in a process of its own, on a fixed loopback
    port so that it can be stopped and started again where the parent's browser expects it."""

    data_root: Path
    log_file: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DashboardProcess:
        command = [
            sys.executable,
            "-m",
            "notalone",
            "dashboard",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_root),
        ]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.lower().endswith("_proxy") and not k.startswith("NOTALONE_")
        }
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
            )
        process = self.process
        try:
            poll(lambda: process.poll() is not None or accepts(self.port), START_TIMEOUT_S)
            if process.poll() is not None:
                log = self.log_file.read_text(errors="replace")
                raise RuntimeError(f"the dashboard exited early:\n{log}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def logged_in(self) -> urllib.request.OpenerDirector:
        """A parent's browser (cookies, no proxy) logged in with DASHBOARD_PASSWORD (see dashboard_client)."""
        browser = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(CookieJar())
        )
        with browser.open(self.url + "/login", timeout=60) as page:
            token = _csrf(page.read().decode())
        form = urllib.parse.urlencode({"csrf_token": token, "password": DASHBOARD_PASSWORD}).encode()
        with browser.open(self.url + "/login", data=form, timeout=60) as answer:
            assert answer.url.rstrip("/").endswith("/alerts"), answer.url  # a failed login stays on /login
        return browser
