"""Recognise traffic the proxy cannot read for the parent: DNS-over-HTTPS lookups that bypass the home's DNS.

(Refused TLS handshakes, the other blind spot, are reported by the ``tls_failed_client`` hook itself.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mitmproxy import http, tls

if TYPE_CHECKING:
    from proxy_addon.state import ProxyState

DNS_MESSAGE = "application/dns-message"
DNS_JSON = "application/dns-json"
# Public resolvers' DoH endpoints (browsers' built-in lists plus the big public ones).
KNOWN_DOH_HOSTS = frozenset(
    {
        "dns.google",
        "dns.google.com",
        "cloudflare-dns.com",
        "mozilla.cloudflare-dns.com",
        "one.one.one.one",
        "1dot1dot1dot1.cloudflare-dns.com",
        "security.cloudflare-dns.com",
        "family.cloudflare-dns.com",
        "dns.quad9.net",
        "dns9.quad9.net",
        "dns10.quad9.net",
        "dns11.quad9.net",
        "doh.opendns.com",
        "doh.familyshield.opendns.com",
        "dns.adguard.com",
        "dns.adguard-dns.com",
        "family.adguard-dns.com",
        "doh.cleanbrowsing.org",
        "dns.nextdns.io",
        "doh.mullvad.net",
        "dns.alidns.com",
        "doh.pub",
        "chrome.cloudflare-dns.com",
        "dns.controld.com",
        "doh.dns.sb",
    }
)
DOH_PATHS = ("/dns-query", "/resolve")


def is_doh_request(request: http.Request) -> bool:
    """True for a DNS-over-HTTPS query: a DNS content type, or a DoH path on a known resolver."""
    content_type = request.headers.get("content-type", "").lower()
    accept = request.headers.get("accept", "").lower()
    if DNS_MESSAGE in content_type or DNS_MESSAGE in accept or DNS_JSON in accept:
        return True
    host = request.pretty_host.lower().rstrip(".")
    path = request.path.split("?", 1)[0]
    if host in KNOWN_DOH_HOSTS:
        return path.startswith(DOH_PATHS) or path == "/"
    # Self-hosted resolvers keep the RFC 8484 path and its ?dns= parameter.
    return path == "/dns-query" and "dns" in request.query


class BlindSpots:
    """The ``BlindSpots`` addon: DNS-over-HTTPS lookups and refused TLS handshakes, recorded per device."""

    def __init__(self, state: ProxyState) -> None:
        self.state = state

    def request(self, flow: http.HTTPFlow) -> None:
        with self.state.fail_open("blind_spot"):
            if self.state.settings is None or self.state.ignored(flow) or not is_doh_request(flow.request):
                return
            host, device = flow.request.pretty_host, self.state.identify(flow).device
            self.state.write("blind_spot", lambda s: s.record_blind_spot("doh", host, device))

    def tls_failed_client(self, data: tls.TlsData) -> None:
        with self.state.fail_open("tls_failed_client"):
            client = data.context.client
            server = data.context.server
            host = client.sni or (server.address[0] if server.address else "") or "unknown"
            device = self.state.children.identify(client).device
            self.state.write("blind_spot", lambda s: s.record_blind_spot("tls_failed", host, device))
