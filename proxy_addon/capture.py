"""The ``Capture`` addon: what the child sees and sends becomes a job for the worker; nothing more.

Pages (monitor mode), chat payloads (JSON, forms) and WebSocket messages are decoded within the size limit
and queued; the worker asks the scoring process and writes alerts. Hooks never wait and never score.
In warn and block mode HTML pages belong to the ``Guard`` addon; chats are captured here in every mode.
"""

from __future__ import annotations

from mitmproxy import http

from classifier.records import Score
from proxy_addon.analysis import FlowContext
from proxy_addon.content import content_kind, valid_unicode
from proxy_addon.state import ProxyState

FORM_FIELD_MAX = 8192


class Capture:
    def __init__(self, state: ProxyState) -> None:
        self.state = state

    def _seen_again(self, context: FlowContext, score: Score) -> None:
        """A page scored moments ago: an alert, if one is due, is written; nothing is queued for scoring."""
        state, analysis = self.state, self.state.analysis
        if analysis.decide(context, score) is not None:
            state.write(
                "alert",
                lambda s: analysis.record(s, context, score, direction="incoming", subject=context.url),
            )

    def request(self, flow: http.HTTPFlow) -> None:
        state = self.state
        with state.fail_open("request"):
            if flow.response is not None or flow.metadata.get("notalone_answered") or state.ignored(flow):
                return
            request = flow.request
            kind = content_kind(request.headers.get("content-type", ""))
            if kind is None or kind == "html" or not request.raw_content or not state.readable(request):
                return
            context = state.context(flow, state.identify(flow), app=request.pretty_host)
            analysis = state.analysis
            if request.multipart_form:
                fields = [
                    (k.decode(errors="replace"), v.decode(errors="replace"))
                    for k, v in request.multipart_form.items(multi=True)
                    if len(v) < FORM_FIELD_MAX
                ]
                state.job("chat", lambda s: analysis.form(s, context, fields))
                return
            body = valid_unicode(request.get_text(strict=False) or "")
            ctype = request.headers.get("content-type", "").lower()
            state.job("chat", lambda s: analysis.chat_body(s, context, body, ctype, "outgoing"))

    def response(self, flow: http.HTTPFlow) -> None:
        state = self.state
        with state.fail_open("response"):
            response = flow.response
            settings = state.settings
            if response is None or settings is None or flow.metadata.get("notalone_answered"):
                return
            if state.ignored(flow) or response.status_code in (204, 304) or response.status_code >= 400:
                return
            kind = content_kind(response.headers.get("content-type", ""))
            if kind is None or kind == "form" or (kind == "html" and settings.mode != "monitor"):
                return  # warn/block: the Guard addon has this page
            if not state.readable(response):
                return
            identity = state.identify(flow)
            analysis, max_body = state.analysis, settings.max_body

            def text() -> str:
                """Decoded on the worker thread, not on the event loop (the bytes are bounded already)."""
                decoded = response.get_text(strict=False) or ""
                # a small gzip body can inflate a lot: readable() measured it, this is a last guard
                return valid_unicode(decoded) if len(decoded) <= max_body else ""

            if kind in ("html", "text"):
                context = state.context(flow, identity)
                key = state.recent.key(context.url, response.raw_content or b"")
                if (seen := state.recent.get(key)) is not None:  # scored moments ago: decide here
                    self._seen_again(context, seen)
                    return
                is_html = kind == "html"
                state.job(
                    "page",
                    lambda s: state.recent.remember(
                        key,
                        analysis.page(s, context, analysis.page_request(context, text(), is_html=is_html)),
                    ),
                )
            else:
                context = state.context(flow, identity, app=flow.request.pretty_host)
                ctype = response.headers.get("content-type", "").lower()
                state.job("chat", lambda s: analysis.chat_body(s, context, text(), ctype, "incoming"))

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        state = self.state
        with state.fail_open("websocket_message"):
            if flow.websocket is None or state.settings is None:
                return
            message = flow.websocket.messages[-1]
            # mitmproxy keeps every message of a connection in the flow; a chat socket open for hours
            # (or a few huge frames) would hold them all. Its WebSocket layer sends ``message`` itself
            # after this hook, so keeping only the newest is safe and bounds the memory.
            del flow.websocket.messages[:-1]
            if not message.is_text or state.ignored(flow):
                return
            if len(message.content) > state.settings.max_body:
                state.count("skipped.too_big")
                return
            context = state.context(flow, state.identify(flow), app=flow.request.pretty_host)
            direction = "outgoing" if message.from_client else "incoming"
            text = message.content.decode("utf-8", "replace")  # a text frame is not always UTF-8
            analysis = state.analysis
            state.job("chat", lambda s: analysis.chat_body(s, context, text, "websocket", direction))
