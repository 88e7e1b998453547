"""The ``ClientAccess`` addon: who may use the proxy, and where through it they may not go.

- A client outside the home ranges is refused at connection time, logged once per address.
- Nobody reaches the box's own services through the proxy: the dashboard's and the proxy's own ports on any
  of the box's addresses are refused for every client (a child's device would otherwise reach the dashboard
  as 127.0.0.1). A client that is not the box itself may reach nothing else on the box either (its loopback,
  its own addresses), nor by a name that resolves to one of them. NotAlone's own hosts (mitm.it,
  notalone.home.arpa) are answered by the proxy itself.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from typing import Any

from cachetools import TTLCache
from mitmproxy import connection, ctx, exceptions, http
from mitmproxy.proxy import mode_specs, server_hooks

from proxy_addon.access import DEFAULT_HOME_RANGES, HomeRanges, RangeError
from proxy_addon.identity import client_ip, device_id
from proxy_addon.state import OWN_HOSTS, ProxyState

log = logging.getLogger("notalone")

RESOLVE_TIMEOUT_S = 5.0
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(value.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class BoxAddresses:
    """Whether an address is this machine's: loopback, unspecified, or one a socket can bind to."""

    def __init__(self) -> None:
        self._known: TTLCache[str, bool] = TTLCache(maxsize=4096, ttl=300)
        self.hostname = socket.gethostname().lower()

    def is_box(self, address: str) -> bool:
        ip = _ip(address)
        if ip is None:
            return False
        if ip.is_loopback or ip.is_unspecified:
            return True
        key = str(ip)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._bindable(ip)
        return known

    @staticmethod
    def _bindable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.bind((str(ip), 0))
            return True
        except OSError:
            return False

    def names_box(self, host: str) -> bool:
        """A destination host (name or address) that is the box itself."""
        host = host.lower().rstrip(".")
        if host in LOCAL_NAMES or host.endswith(".localhost") or host == self.hostname:
            return True
        return self.is_box(host)


class ClientAccess:
    def __init__(self, state: ProxyState) -> None:
        self.state = state
        self.box = BoxAddresses()
        self.own_ports: frozenset[int] = frozenset()
        # Each refused address is logged once (per hour), however often it retries; bounded.
        self._refused_logged: TTLCache[str, bool] = TTLCache(maxsize=1024, ttl=3600)
        self._resolved: TTLCache[str, list[str]] = TTLCache(maxsize=4096, ttl=60)

    def load(self, loader: Any) -> None:
        loader.add_option(
            "notalone_home_ranges",
            Sequence[str],
            list(DEFAULT_HOME_RANGES),
            "Client address ranges allowed to use the proxy (CIDR).",
        )
        loader.add_option(
            "notalone_dashboard",
            str,
            "",
            "host:port of the parent dashboard: never read, never reachable through the proxy.",
        )

    def configure(self, updated: set[str]) -> None:
        if "notalone_home_ranges" in updated:
            try:
                HomeRanges.from_specs(ctx.options.notalone_home_ranges)
            except RangeError as e:
                raise exceptions.OptionsError(f"notalone_home_ranges: {e}") from None
        if "notalone_dashboard" in updated:
            dashboard = ctx.options.notalone_dashboard.strip()
            if dashboard and not dashboard.rpartition(":")[2].isdigit():
                raise exceptions.OptionsError(f"notalone_dashboard must be host:port, not {dashboard!r}")
        ports = set()
        if ctx.options.listen_port:
            ports.add(int(ctx.options.listen_port))
        for spec in ctx.options.mode:
            try:
                port = mode_specs.ProxyMode.parse(spec).listen_port()
            except ValueError:
                continue
            if port:
                ports.add(port)
        if not ctx.options.listen_port:
            ports.add(8080)
        self.own_ports = frozenset(ports)

    # -- who may connect -------------------------------------------------------------------------------
    def client_connected(self, client: connection.Client) -> None:
        with self.state.fail_open("client_connected"):
            settings = self.state.settings
            if settings is None:
                return
            address = client_ip(client)
            if not settings.home_ranges.allows(address):
                client.error = f"NotAlone: {address} is outside the home address ranges"
                if address not in self._refused_logged:
                    self._refused_logged[address] = True
                    log.warning(
                        "NotAlone: refused a client at %s: it is outside the home address ranges "
                        "(the parent's Settings list who may use the proxy; logged once per address)",
                        address,
                    )
                self.state.count("clients.refused")
                return
            self.state.touch(device_id(client), address)

    # -- where they may not go ----------------------------------------------------------------------------
    def refusal(self, client: connection.Client, host: str, port: int) -> str:
        """Why this destination is refused for this client, or "" when it is allowed."""
        host = host.lower().rstrip(".")
        if host in OWN_HOSTS or not self.box.names_box(host):
            return ""
        dashboard_port = self.state.settings.dashboard_port if self.state.settings else None
        if port in self.own_ports or port == dashboard_port:
            return "own_service"
        if not self.box.is_box(client_ip(client)):
            return "box"
        return ""

    def _refuse(self, flow: http.HTTPFlow, why: str) -> None:
        settings = self.state.settings
        dashboard = settings.dashboard if settings and settings.dashboard else ""
        text = (
            "NotAlone: this address is the NotAlone box itself, and it cannot be opened through the "
            "children's proxy.\n"
        )
        if why == "own_service" and dashboard:
            text += (
                f"Parents: open the dashboard directly at http://{dashboard}/ (not through the proxy): add "
                "the box's address to this device's proxy exceptions.\n"
            )
        flow.response = http.Response.make(
            403,
            text.encode(),
            {
                "content-type": "text/plain; charset=utf-8",
                "cache-control": "no-store",
                "x-notalone": "refused",
            },
        )
        flow.metadata["notalone_answered"] = True
        self.state.count(f"refused.{why}")

    def http_connect(self, flow: http.HTTPFlow) -> None:
        with self.state.fail_open("http_connect"):
            why = self.refusal(flow.client_conn, flow.request.host, flow.request.port)
            if why:
                self._refuse(flow, why)

    def request(self, flow: http.HTTPFlow) -> None:
        with self.state.fail_open("access_request"):
            if flow.response is not None:
                return
            why = self.refusal(flow.client_conn, flow.request.host, flow.request.port)
            if why:
                self._refuse(flow, why)

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Every connection to a server, whatever the mode: also catches a name that resolves to the box
        (a page's own DNS name pointed at the box's address) and transparent/WireGuard modes' connections."""
        with self.state.fail_open("server_connect"):
            if data.server.address is None or data.server.error or data.server.via is not None:
                return
            host, port = str(data.server.address[0]), int(data.server.address[1])
            why = self.refusal(data.client, host, port)
            if not why and _ip(host) is None and host.lower().rstrip(".") not in OWN_HOSTS:
                for address in await self._resolve(host, port):
                    why = self.refusal(data.client, address, port)
                    if why:
                        break
            if why:
                data.server.error = f"NotAlone: {host}:{port} is the NotAlone box itself"
                self.state.count(f"refused.{why}")

    async def _resolve(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to (cached a minute); none when it does not resolve (mitmproxy
        then reports the failure itself)."""
        key = host.lower()
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
            )
        except (OSError, TimeoutError, UnicodeError):
            return []
        addresses = sorted({str(info[4][0]) for info in infos})
        self._resolved[key] = addresses
        return addresses
