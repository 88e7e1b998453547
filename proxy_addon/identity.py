"""Which child is behind a connection: client -> device id -> child profile.

A device is named by the strongest identity the connection offers: the proxy-auth user, the WireGuard
peer (one WireGuard config per child survives MAC randomisation and works on mobile data), else the
source IP. The parent maps devices to children in the dashboard; unmapped devices get a default name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mitmproxy import connection
from mitmproxy.proxy import mode_specs

DEFAULT_CHILD = "unassigned"


def client_ip(client: connection.Client) -> str:
    host = client.peername[0] if client.peername else ""
    return host.removeprefix("::ffff:") if "." in host else host


def device_id(client: connection.Client, proxy_user: str = "") -> str:
    """A stable name for the device behind ``client``: ``user:<name>``, ``wg:<peer ip>`` or ``ip:<addr>``."""
    if proxy_user:
        return f"user:{proxy_user}"
    if isinstance(client.proxy_mode, mode_specs.WireGuardMode):
        # mitmproxy gives each WireGuard peer config its own tunnel address.
        return f"wg:{client_ip(client)}"
    return f"ip:{client_ip(client)}"


@dataclass(frozen=True)
class Identity:
    device: str
    child: str
    address: str


@dataclass
class ChildMap:
    """The parent's device -> child assignments, refreshed from the store off the hot path."""

    default_child: str = DEFAULT_CHILD
    assignments: Mapping[str, str] = field(default_factory=dict)
    children: frozenset[str] = frozenset()

    def child_for(self, device: str) -> str:
        if child := self.assignments.get(device):
            return child
        # A proxy-auth user named like a child profile is that child, without a manual assignment.
        user = device.removeprefix("user:")
        if device.startswith("user:") and user in self.children:
            return user
        return self.default_child

    def identify(self, client: connection.Client, proxy_user: str = "") -> Identity:
        device = device_id(client, proxy_user)
        return Identity(device, self.child_for(device), client_ip(client))
