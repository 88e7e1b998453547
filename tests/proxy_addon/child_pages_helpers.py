"""Driving the child's pages as mitmproxy does (the addon's request hook, then the pages' async one), and
as a browser does: a real click on one of those pages sends these navigation headers."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

from addon_fakes import Proxy
from mitmproxy import http
from mitmproxy.test import tflow

from proxy_addon.child_pages import CLICK_HEADERS, ORIGIN

CLICK = CLICK_HEADERS


def serve(proxy: Proxy, flow: http.HTTPFlow) -> http.HTTPFlow:
    """Every addon's request hook, the child pages' async one awaited, as mitmproxy runs them."""
    proxy.request(flow)
    return flow


def get(url: str, headers: dict[str, str] | None = None, client: str = "") -> http.HTTPFlow:
    flow = tflow.tflow()
    if client:
        flow.client_conn.peername = (client, 50000)
    flow.request.url = url
    for name, value in (headers or {}).items():
        flow.request.headers[name] = value
    return flow


def post(
    url: str, fields: dict[str, str], headers: dict[str, str] | None = CLICK, client: str = ""
) -> http.HTTPFlow:
    flow = get(url, headers, client)
    flow.request.method = "POST"
    flow.request.headers["content-type"] = "application/x-www-form-urlencoded"
    flow.request.content = urlencode(fields).encode()
    return flow


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field in the page"
    return html.unescape(match.group(1))


def action(page: str, button_id: str) -> str:
    """The action of the form whose button has ``button_id``."""
    match = re.search(rf'<form method="post" action="([^"]+)">(?:(?!</form>).)*id="{button_id}"', page, re.S)
    assert match, f"no form with a {button_id} button in the page"
    return ORIGIN + html.unescape(match.group(1))


def open_warning(proxy: Proxy, warned: http.HTTPFlow, headers: dict[str, str] | None = None) -> str:
    """Follow a warned page's redirect to its warning, as the child's browser does; the warning page."""
    assert warned.response is not None and warned.response.status_code == 303
    flow = serve(proxy, get(warned.response.headers["location"], headers))
    assert flow.response is not None and flow.response.status_code == 200
    return flow.response.text or ""
