"""The ``ChildPages`` addon: serves the child's pages at ``http(s)://notalone.home.arpa/`` from inside the
proxy, mounted through ``mitmproxy.addons.asgiapp.WSGIApp`` as mitmproxy's onboarding addon serves mitm.it,
and is what the warn/block guard calls: ``warn()`` to send the child to a warning, ``allows()`` to honour a
"continue anyway".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from mitmproxy import ctx, http, tls
from mitmproxy.addons import asgiapp

from alert_store import default_data_dir
from classifier.decision import Decision
from proxy_addon.child_pages.app import HOST, ORIGIN, PagesState, create_app
from proxy_addon.child_pages.warnings import Grants, WarnedPage, WarnedPages
from proxy_addon.identity import ChildMap, Identity, client_ip

# Who is asking, set by the request hook for the app: asgiref runs the WSGI app on a thread with a copy of
# this context. Never taken from the request itself, which the device (or a page's script) writes.
CURRENT_CHILD: ContextVar[Identity | None] = ContextVar("notalone_child", default=None)
_HTML_LANG = re.compile(rb"<html[^>]*\slang\s*=\s*[\"']?([A-Za-z-]{2,})", re.IGNORECASE)


def warning_url(warning_id: str) -> str:
    return f"{ORIGIN}/warning/{warning_id}"


class ChildPages(asgiapp.WSGIApp):
    """The child's pages, and the registry of warnings shown and "continue anyway" grants."""

    name = "child_pages"

    def __init__(
        self,
        identify: Callable[[http.HTTPFlow], Identity] | None = None,
        allows_client: Callable[[str], bool] | None = None,
    ) -> None:
        self._identify = identify or (lambda flow: ChildMap().identify(flow.client_conn))
        self._allows_client = allows_client or (lambda address: True)
        self.warned = WarnedPages()
        self.grants = Grants()
        self.state = PagesState(self.warned, self.grants, CURRENT_CHILD.get)
        self.app = create_app(self.state)
        super().__init__(self.app, HOST, None)

    def configure(self, updated: set[str]) -> None:
        data_dir = getattr(ctx.options, "notalone_data_dir", "")
        self.app.config["DATA_DIR"] = Path(data_dir).expanduser() if data_dir else default_data_dir()
        self.app.config["CONFDIR"] = ctx.options.confdir

    # -- for the warn/block guard ----------------------------------------------------------------------
    def warn(
        self,
        flow: http.HTTPFlow,
        decision: Decision,
        identity: Identity,
        *,
        mode: str = "warn",
        title: str = "",
        model_version: str = "",
        lang: str = "",
    ) -> str:
        """Replace the page with a redirect to its warning at notalone.home.arpa; return the warning's id.

        The site's origin gets nothing but that redirect (a script's fetch() cannot read its target); what
        the model saw stays here. ``mode`` "block" offers no "continue anyway"; ``lang`` is the language
        the model detected, used when the page declares none."""
        raw = flow.response.raw_content[:4096] if flow.response and flow.response.raw_content else b""
        match = _HTML_LANG.search(raw)
        page = self.warned.remember(
            WarnedPage(
                id="",
                child=identity.child,
                device=identity.device,
                url=flow.request.pretty_url,
                host=flow.request.pretty_host,
                mode=mode,
                category=decision.category,
                kind=decision.kind,
                snippet=decision.snippet[:500],
                terms=tuple(decision.evidence),
                title=title,
                model_version=model_version,
                lang=match.group(1).decode() if match else "",
                detected_lang=lang,
            )
        )
        flow.response = http.Response.make(
            303,
            b"",
            {
                "location": warning_url(page.id),
                "cache-control": "no-store",
                "referrer-policy": "no-referrer",
                "x-notalone": mode,
            },
        )
        return page.id

    def allows(self, device: str, url: str) -> bool:
        """True while ``device`` may open ``url`` unchecked: it chose "continue anyway" within the hour."""
        return self.grants.allows(device, url)

    # -- hooks -------------------------------------------------------------------------------------
    @staticmethod
    def claims(flow: http.HTTPFlow) -> bool:
        """True for the flows these pages answer; nothing of them reaches (or is read on the way to) a
        server."""
        return flow.request.pretty_host.lower() == HOST

    def should_serve(self, flow: http.HTTPFlow) -> bool:
        return self.claims(flow) and flow.live and not flow.error and not flow.response

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """``https://notalone.home.arpa/``: accept the tunnel without dialling out (the name resolves
        nowhere); mitmproxy then makes a certificate for it and the request hook answers inside."""
        if flow.request.host.lower() == HOST:
            flow.response = http.Response.make(200)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        if (data.client_hello.sni or "").lower() == HOST:
            data.establish_server_tls_first = False  # there is no server to ask for its certificate

    async def request(self, flow: http.HTTPFlow) -> None:
        if not self.should_serve(flow):
            return
        flow.metadata["notalone_answered"] = True
        if not self._allows_client(client_ip(flow.client_conn)):  # the ACL already refused them; be sure
            flow.kill()
            return
        token = CURRENT_CHILD.set(self._identify(flow))
        try:
            await super().request(flow)
        finally:
            CURRENT_CHILD.reset(token)


__all__ = ["ChildPages", "warning_url"]
