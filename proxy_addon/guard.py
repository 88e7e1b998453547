"""The ``Guard`` addon (warn and block mode): an HTML page is scored before the child sees it.

The hook is ``async`` (mitmproxy's ``examples/addons/nonblocking.py``): it awaits the scoring process, so
the event loop keeps forwarding every other flow meanwhile. A page the decision calls a medium or high scam
is replaced through ``ChildPages.warn``; any other decision is recorded as an alert and the page passes.
If scoring fails or takes too long, the page passes as it came (fail open) and the failure is counted.
"""

from __future__ import annotations

import dataclasses

from mitmproxy import http

from alert_store import AlertStore
from proxy_addon.child_pages import ChildPages
from proxy_addon.content import content_kind, valid_unicode
from proxy_addon.scoring import PAGE, ScoreRequest, score_async
from proxy_addon.state import ProxyState

WARN_SEVERITIES = ("medium", "high")


class Guard:
    def __init__(self, state: ProxyState, pages: ChildPages) -> None:
        self.state = state
        self.pages = pages

    async def response(self, flow: http.HTTPFlow) -> None:
        state = self.state
        with state.fail_open("guard"):
            settings, scoring, response = state.settings, state.scoring, flow.response
            if settings is None or settings.mode == "monitor" or response is None or scoring is None:
                return
            if flow.metadata.get("notalone_answered") or state.ignored(flow):
                return
            html = content_kind(response.headers.get("content-type", "")) == "html"
            if response.status_code != 200 or not html:
                return
            if not state.readable(response):
                return
            text = response.get_text(strict=False)
            if not text or len(text) > settings.max_body:
                return
            identity = state.identify(flow)
            url = flow.request.pretty_url
            if self.pages.allows(identity.device, url):
                return
            text = valid_unicode(text)
            score = await score_async(scoring, ScoreRequest(PAGE, text, url))
            context = state.context(flow, identity)
            decision = state.analysis.decide(context, score)
            if decision is None:
                return
            warned = decision.category == "scam" and decision.severity in WARN_SEVERITIES
            warning_id = ""
            if warned:  # only a likely scam is held back; a low-severity one is reported, not blocked
                warning_id = self.pages.warn(
                    flow,
                    dataclasses.replace(decision, snippet=(decision.snippet or text)[:500]),
                    identity,
                    mode=settings.mode,
                    title=score.title or "",
                    model_version=scoring.version,
                    lang=score.lang,
                )
                state.count(f"interstitial.{settings.mode}.shown")
            analysis, warned_pages = state.analysis, self.pages.warned

            def record_alert(store: AlertStore) -> None:
                alert_id = analysis.record(
                    store, context, score, direction="incoming", subject=url, text=text[:2000]
                )
                if warning_id:  # the child's choices on the warning are recorded against this alert
                    settled_id, early = warned_pages.set_alert_id(warning_id, alert_id)
                    for choice in early:  # made before this alert was written
                        choice.record(store, settled_id)

            state.write("alert", record_alert)
