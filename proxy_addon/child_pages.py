"""The ``ChildPages`` addon: the one place the proxy's code calls the child-facing pages.

The warning page, its choices ("go back", "continue anyway", "tell my parent") and the help page at
``notalone.home.arpa`` are built by the child-pages modules (``interstitial``, ``help_desk`` and friends);
this addon mounts them and offers the ``Guard`` one question: ``warn(flow, ...)``, "replace this page with
the warning". Nothing else in the proxy knows how those pages are made.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from mitmproxy import http

from alert_store import AlertStore, SettingKey
from classifier.decision import Decision
from proxy_addon.help_desk import HelpDesk
from proxy_addon.help_page import helpline_number
from proxy_addon.identity import Identity
from proxy_addon.interstitial import (
    CHOICE_PATH,
    Allowances,
    ChoiceSigner,
    choose_language,
    render_interstitial,
    render_went_back,
)
from proxy_addon.state import ProxyState
from proxy_addon.warned_pages import WarnedPage, WarnedPages

log = logging.getLogger("notalone")
_HTML_LANG = re.compile(rb"<html[^>]*\slang\s*=\s*[\"']?([A-Za-z-]{2,})", re.IGNORECASE)


class ChildPages:
    def __init__(self, state: ProxyState) -> None:
        self.state = state
        self.signer = ChoiceSigner()
        self.allowances = Allowances()
        self.warned = WarnedPages()
        self.help_desk = HelpDesk(
            identify=state.identify,
            allows=lambda address: state.settings is not None and state.settings.home_ranges.allows(address),
            signer=self.signer,
            warned=self.warned,
            count=state.count,
        )
        self.addons = [self.help_desk]  # mitmproxy runs a sub-addon's hooks after this addon's

    def running(self) -> None:
        if self.state.settings is not None:
            self.help_desk.start(self.state.settings.data_dir)

    def parent_settings(self, parent: dict[str, Any]) -> None:
        """Called by Lifecycle on each settings refresh."""
        self.help_desk.helpline = helpline_number(parent.get(SettingKey.HELPLINE))

    # -- what the Guard asks -------------------------------------------------------------------------------
    def allows(self, device: str, url: str) -> bool:
        """The child chose "continue anyway" for this page within the hour."""
        return self.allowances.allows(device, url)

    def warn(
        self,
        flow: http.HTTPFlow,
        identity: Identity,
        decision: Decision,
        *,
        title: str,
        detected_lang: str,
        model_version: str,
    ) -> None:
        """Replace ``flow``'s response with the warning page (warn: with "continue"; block: without)."""
        assert flow.response is not None and self.state.settings is not None
        url = flow.request.pretty_url
        self.warned.remember(
            flow.id,
            WarnedPage(
                child=identity.child,
                device=identity.device,
                url=url,
                category=decision.category,
                snippet=decision.snippet[:500],
                terms=decision.evidence,
                title=title,
                model_version=model_version,
            ),
        )
        mode = self.state.settings.mode
        match = _HTML_LANG.search(flow.response.raw_content[:4096] if flow.response.raw_content else b"")
        page_lang = match.group(1).decode() if match else ""
        lang = choose_language(page_lang, flow.request.headers.get("accept-language", ""), detected_lang)
        device = identity.device
        body = render_interstitial(
            lang=lang,
            mode=mode,
            host=flow.request.pretty_host,
            back_token=self.signer.sign("back", device, url, flow.id),
            continue_token=self.signer.sign("continue", device, url, flow.id) if mode == "warn" else None,
            tell_token=self.signer.sign("tell", device, url, flow.id),
            form_token=self.help_desk.issue_token(device),
        )
        flow.response = http.Response.make(
            200,
            body.encode("utf-8"),
            {"content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-notalone": mode},
        )
        self.state.count(f"interstitial.{mode}.shown")

    def alert_recorded(self, flow_id: str, alert_id: int | None) -> None:
        self.warned.set_alert_id(flow_id, alert_id)

    # -- the choices on the warning page -------------------------------------------------------------------
    def request(self, flow: http.HTTPFlow) -> None:
        with self.state.fail_open("choice"):
            if flow.response is None and flow.request.path.startswith(CHOICE_PATH):
                self._answer_choice(flow)

    def _answer_choice(self, flow: http.HTTPFlow) -> None:
        """The child clicked "go back" or "continue anyway" on the interstitial: record it and act on it."""
        flow.metadata["notalone_answered"] = True
        identity = self.state.identify(flow)
        choice = self.signer.verify(flow.request.query.get("t", ""), identity.device)
        if choice is None or choice.action not in ("continue", "back"):
            flow.response = http.Response.make(
                403, b"This link has expired. Please go back.", {"content-type": "text/plain; charset=utf-8"}
            )
            return
        action = "continued" if choice.action == "continue" else "went_back"
        warned = self.warned

        def record_choice(store: AlertStore) -> None:
            store.increment(f"interstitial.{action}")
            page = warned.get(choice.flow_id)  # read here: the worker wrote the page's alert before this
            store.record_choice(
                child=identity.child,
                choice=action,
                device=identity.device,
                url=choice.url,
                alert_id=page.alert_id if page is not None else None,
            )

        self.state.write("choice", record_choice)
        log.info("NotAlone: %s chose to %s at %s", identity.child, choice.action, choice.url)
        if choice.action == "continue":
            self.allowances.grant(identity.device, choice.url)
            flow.response = http.Response.make(
                303, b"", {"location": choice.url, "cache-control": "no-store"}
            )
        else:
            lang = choose_language("", flow.request.headers.get("accept-language", ""))
            flow.response = http.Response.make(
                200,
                render_went_back(lang).encode("utf-8"),
                {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"},
            )
