"""The pretend child device: sets itself up like a real one, then browses and chats through the proxy.

Like a real device it first fetches the proxy's CA certificate from http://mitm.it (served by the proxy
itself) and trusts it from then on. The demo's origin speaks plain HTTP: mitmproxy checks the servers it
talks to against the public trust store, and a loopback demo server cannot hold a public certificate,
while weakening that check in a parent's running proxy for a demo would be wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import ClientSession, ClientTimeout, WSMsgType

from notalone.demo import Chat, Page

log = logging.getLogger("notalone.demo")

CA_URL = "http://mitm.it/cert/pem"
TIMEOUT = ClientTimeout(total=60)
ACCEPT_LANGUAGE = {"en": "en-GB,en;q=0.9", "vi": "vi-VN,vi;q=0.9,en;q=0.5"}


@dataclass
class Visit:
    """What the child saw: a page (and whether the proxy replaced it with a warning) or a chat."""

    what: str
    risky: bool
    ok: bool
    note: str = ""


@dataclass
class Device:
    """A child's device whose browser and chat app use ``proxy`` (``http://host:port``)."""

    proxy: str
    pace_s: float = 0.4
    say: Callable[[str], None] = print
    visits: list[Visit] = field(default_factory=list)
    tls: ssl.SSLContext | None = None

    async def trust_proxy_ca(self, session: ClientSession) -> bool:
        """Download the CA from http://mitm.it through the proxy and trust it, as the set-up pages say."""
        try:
            async with session.get(CA_URL, proxy=self.proxy) as response:
                pem = await response.text()
        except Exception as exc:  # the demo still runs on plain HTTP; tell the parent what happened
            self.say(f"  could not fetch the CA certificate from {CA_URL}: {exc}")
            return False
        if response.status != 200 or "BEGIN CERTIFICATE" not in pem:
            self.say(f"  {CA_URL} did not answer with a certificate (HTTP {response.status})")
            return False
        self.tls = ssl.create_default_context(cadata=pem)
        self.say(f"  installed the proxy's CA certificate from {CA_URL}")
        return True

    async def open_page(self, session: ClientSession, origin: str, page: Page) -> None:
        url = origin + page.path
        headers = {
            "accept-language": ACCEPT_LANGUAGE.get(page.lang, "en"),
            "user-agent": "Mozilla/5.0 (Linux; Android 14) NotAloneDemo/1.0",
        }
        async with session.get(url, proxy=self.proxy, headers=headers, ssl=self.tls or True) as response:
            body = await response.text()
        # A warned page is a redirect (marked x-notalone) to its warning at notalone.home.arpa.
        warned = next((r.headers["x-notalone"] for r in response.history if "x-notalone" in r.headers), "")
        note = f"replaced by NotAlone's {warned} page" if warned else f"HTTP {response.status}"
        ok = response.status == 200 and (warned != "" or body == page.html)
        self.visits.append(Visit(page.path, page.risky, ok, note))
        self.say(f"  {'opened':8} {url}  ({note})")

    async def chat(self, session: ClientSession, origin: str, chat: Chat) -> None:
        # An http:// URL: aiohttp then sends the proxy an absolute-form "GET http://..." upgrade request,
        # which mitmproxy accepts; "GET ws://..." is not an HTTP request target it takes.
        url = origin + chat.path
        self.say(f"  {'chatting':8} {url.replace('http', 'ws', 1)}  ({chat.title})")
        received = sent = 0
        async with session.ws_connect(url, proxy=self.proxy, ssl=self.tls or True) as ws:
            for speaker, text in chat.turns:
                if speaker == "child":
                    await asyncio.sleep(self.pace_s)  # a child types more slowly than a script
                    await ws.send_str(
                        json.dumps(
                            {"type": "message", "chat_id": chat.conversation, "from": "me", "text": text},
                            ensure_ascii=False,
                        )
                    )
                    sent += 1
                    continue
                message = await ws.receive(timeout=60)
                if message.type != WSMsgType.TEXT:
                    break
                received += 1
        expected = sum(1 for speaker, _ in chat.turns if speaker == "peer")
        self.visits.append(
            Visit(chat.path, chat.risky, received == expected, f"{sent} sent, {received} received")
        )

    async def browse(self, origin: str, pages: list[Page], chats: list[Chat]) -> list[Visit]:
        """Set up, then interleave ordinary and risky pages and chats, as a child's evening would."""
        async with ClientSession(trust_env=False, timeout=TIMEOUT) as session:
            await self.trust_proxy_ca(session)
            for index in range(max(len(pages), len(chats))):
                if index < len(pages):
                    await self.open_page(session, origin, pages[index])
                if index < len(chats):
                    await self.chat(session, origin, chats[index])
                await asyncio.sleep(self.pace_s)
        return self.visits
