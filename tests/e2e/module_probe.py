"""Test-only mitmproxy script: ``http://probe.notalone.invalid/`` answers with the proxy process's
``sys.modules`` names, so a test can check that the proxy process never imports the model."""

from __future__ import annotations

import json
import sys

from mitmproxy import http

PROBE_HOST = "probe.notalone.invalid"


class ModuleProbe:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == PROBE_HOST:
            names = sorted(sys.modules)
            flow.response = http.Response.make(200, json.dumps(names), {"content-type": "application/json"})


addons = [ModuleProbe()]
