"""The proxy answers a child who asks for help: the help page at ``notalone.home.arpa`` and the "Tell my
parent" button of the warning page. Both record a child-raised ``help`` alert of high severity.

A sub-addon of :class:`proxy_addon.addon.NotAlone`, which lends it the child's identity and the home
ranges. Its ``request`` hook is async: the alert is written on a thread with a connection of its own, so
that the child learns whether it was recorded while other traffic flows on. Whatever fails, the child
gets a page with the helpline, never a dead end.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy import http, tls

from alert_store import Alert, AlertStore, DataDir
from proxy_addon.help_page import (
    APP_MAX_CHARS,
    HELP_HOST,
    NOTE_MAX_CHARS,
    render_help_form,
    render_result,
)
from proxy_addon.help_text import DEFAULT_HELPLINE, TOPIC_LABELS, TOPICS, language_for, scenario_of
from proxy_addon.help_token import HelpTokens
from proxy_addon.identity import Identity, client_ip
from proxy_addon.interstitial import TELL_PATH, ChoiceSigner, choice_link
from proxy_addon.rate_limit import RateLimit
from proxy_addon.warned_pages import WarnedPage, WarnedPages

log = logging.getLogger("notalone")

REPORTS_PER_HOUR = 10
FORM_MAX_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
STATUS = {"thanks": 200, "limited": 429, "failed": 503, "expired": 403}


@dataclass(frozen=True)
class HelpRequest:
    """What a child asked for, ready to become an alert (and, from a warning page, a recorded choice)."""

    alert: Alert
    lesson: str
    warned_alert_id: int | None = None
    from_warning: bool = False


class HelpDesk:
    """Answers the help host and ``TELL_PATH`` itself; nothing of it reaches an upstream server."""

    def __init__(
        self,
        *,
        identify: Callable[[http.HTTPFlow], Identity],
        allows: Callable[[str], bool],
        signer: ChoiceSigner,
        warned: WarnedPages,
        count: Callable[[str], None],
        limit: RateLimit | None = None,
    ) -> None:
        self._identify = identify
        self._allows = allows
        self._signer = signer
        self._warned = warned
        self._count = count
        self.limit = limit or RateLimit(REPORTS_PER_HOUR, 3600.0)
        self.tokens: HelpTokens | None = None
        self.database: Path | None = None
        self.helpline = DEFAULT_HELPLINE
        self.store_failures = 0  # in memory too: the store may be the very thing that is failing
        self._lock = threading.Lock()

    def start(self, data_dir: Path) -> None:
        self.tokens = HelpTokens.from_data_dir(data_dir)
        self.database = DataDir(data_dir).database

    @staticmethod
    def claims(flow: http.HTTPFlow) -> bool:
        """True for the flows this desk answers: the help host, and the warning page's "Tell my parent"."""
        return flow.request.pretty_host.lower() == HELP_HOST or flow.request.path.startswith(TELL_PATH)

    # -- hooks ------------------------------------------------------------------------------------------
    def http_connect(self, flow: http.HTTPFlow) -> None:
        """``https://notalone.home.arpa/``: accept the tunnel without dialling out (the name resolves
        nowhere); mitmproxy then makes a certificate for it and the request hook answers inside."""
        if flow.request.host.lower() == HELP_HOST:
            flow.response = http.Response.make(200)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        if (data.client_hello.sni or "").lower() == HELP_HOST:
            data.establish_server_tls_first = False  # there is no server to ask for its certificate

    async def request(self, flow: http.HTTPFlow) -> None:
        if not self.claims(flow) or flow.response is not None:
            return
        flow.metadata["notalone_answered"] = True
        if not self._allows(client_ip(flow.client_conn)):  # the ACL already refused them; be sure anyway
            flow.kill()
            return
        identity = self._identify(flow)
        request = flow.request
        if request.path.startswith(TELL_PATH):
            if request.method != "POST":
                self._answer(flow, 405, b"", "text/plain")
                return
            await self._tell(flow, identity)
        elif request.path == "/" or request.path.startswith("/?"):
            if request.method == "POST":
                await self._help(flow, identity)
            else:
                self._show_form(flow, identity)
        else:
            self._answer(flow, 404, b"", "text/plain")

    # -- the help page -----------------------------------------------------------------------------------
    def _show_form(self, flow: http.HTTPFlow, identity: Identity) -> None:
        headers = flow.request.headers
        lang = language_for(flow.request.query.get("lang", ""), headers.get("accept-language", ""))
        body = render_help_form(lang=lang, token=self._issue(identity.device), helpline=self.helpline)
        self._answer(flow, 200, body.encode("utf-8"))

    async def _help(self, flow: http.HTTPFlow, identity: Identity) -> None:
        form = self._form(flow)
        lang = language_for(form.get("lang", ""), flow.request.headers.get("accept-language", ""))
        topic = form.get("topic", "")
        topic = topic if topic in TOPICS else "other"
        request = HelpRequest(
            alert=_child_raised(
                identity,
                snippet="",
                direction="outgoing",
                title=TOPIC_LABELS["en"][topic],
                app=form.get("app", "").strip()[:APP_MAX_CHARS],
                terms=(topic,),
                child_note=form.get("note", "")[:NOTE_MAX_CHARS],
            ),
            lesson=topic,
        )
        await self._submit(flow, identity, lang, form.get("token", ""), request)

    # -- "Tell my parent" on the warning page ------------------------------------------------------------
    async def _tell(self, flow: http.HTTPFlow, identity: Identity) -> None:
        form = self._form(flow)
        lang = language_for(form.get("lang", ""), flow.request.headers.get("accept-language", ""))
        choice = self._signer.verify(form.get("t", ""), identity.device)
        if choice is None or choice.action != "tell":
            self._result(flow, lang, "expired")
            return
        page = self._warned.get(choice.flow_id) or WarnedPage(
            child=identity.child, device=identity.device, url=choice.url, category="scam", snippet=""
        )
        seen = " ".join((page.title, page.snippet, *page.terms))
        request = HelpRequest(
            alert=_child_raised(
                identity,
                snippet=page.snippet[:500],
                direction="incoming",
                url=page.url,
                title=page.title,
                terms=page.terms,
                model_version=page.model_version,
            ),
            lesson=scenario_of(seen, page.category),
            warned_alert_id=page.alert_id,
            from_warning=True,
        )
        back = self._signer.sign("back", identity.device, choice.url, choice.flow_id)
        await self._submit(flow, identity, lang, form.get("token", ""), request, back_url=choice_link(back))

    # -- shared -------------------------------------------------------------------------------------------
    async def _submit(
        self,
        flow: http.HTTPFlow,
        identity: Identity,
        lang: str,
        token: str,
        request: HelpRequest,
        back_url: str | None = None,
    ) -> None:
        if self.tokens is None or not self.tokens.verify(token, identity.device):
            self._count("help.refused_token")
            self._result(flow, lang, "expired")
            return
        if not self.limit.take(identity.device):
            self._count("help.rate_limited")
            log.warning(
                "NotAlone: help request from %s refused, over %d an hour", identity.device, self.limit.limit
            )
            self._result(flow, lang, "limited")
            return
        try:
            alert_id = await asyncio.to_thread(self._record, request)
        except Exception as e:  # never a dead end: the child still gets the helpline
            with self._lock:
                self.store_failures += 1
            log.error(
                "NotAlone: a help request from %s (%s) could not be stored (%d so far): %r",
                identity.child,
                identity.device,
                self.store_failures,
                e,
            )
            self._count("help.store_failed")
            self._result(flow, lang, "failed")
            return
        log.info("NotAlone: %s asked for help (alert %d)", identity.child, alert_id)
        self._result(flow, lang, "thanks", lesson=request.lesson, back_url=back_url)

    def _record(self, request: HelpRequest) -> int:
        """On a worker thread, with a connection of its own: the alert, the choice, the counter."""
        if self.database is None:
            raise RuntimeError("the help desk has no database yet")
        with AlertStore(self.database) as store:
            alert_id = store.add(request.alert)
            if request.from_warning:
                store.record_choice(
                    child=request.alert.child,
                    choice="told_parent",
                    alert_id=request.warned_alert_id,
                    device=request.alert.device,
                    url=request.alert.url,
                )
            store.increment("help.received")
        return alert_id

    def _issue(self, device: str) -> str:
        if self.tokens is None:
            raise RuntimeError("the help desk has not started")
        return self.tokens.issue(device)

    def issue_token(self, device: str) -> str:
        """The device's current form token, for the warning page's "Tell my parent" form."""
        return self._issue(device)

    @staticmethod
    def _form(flow: http.HTTPFlow) -> dict[str, str]:
        request = flow.request
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != FORM_TYPE or len(request.raw_content or b"") > FORM_MAX_BYTES:
            return {}
        return {k: v for k, v in request.urlencoded_form.items()}

    def _result(
        self,
        flow: http.HTTPFlow,
        lang: str,
        result: str,
        *,
        lesson: str | None = None,
        back_url: str | None = None,
    ) -> None:
        body = render_result(
            lang=lang, result=result, helpline=self.helpline, lesson=lesson, back_url=back_url
        )
        self._answer(flow, STATUS[result], body.encode("utf-8"))

    @staticmethod
    def _answer(flow: http.HTTPFlow, status: int, body: bytes, ctype: str = "text/html") -> None:
        flow.response = http.Response.make(
            status,
            body,
            {
                "content-type": f"{ctype}; charset=utf-8",
                "cache-control": "no-store",
                "x-frame-options": "DENY",
                "content-security-policy": (
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                    "frame-ancestors 'none'"
                ),
                "referrer-policy": "no-referrer",
            },
        )


def _child_raised(identity: Identity, **details: Any) -> Alert:
    """A help alert the child raised: always high severity, always the child's own."""
    return Alert(
        child=identity.child,
        device=identity.device,
        category="help",
        severity="high",
        probability=1.0,
        source="child",
        **details,
    )
