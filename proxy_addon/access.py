"""Who may use the proxy: clients from the home's own address ranges, nobody from outside."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from alert_store import DEFAULT_ALLOWED_CLIENTS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_HOME_RANGES: tuple[str, ...] = DEFAULT_ALLOWED_CLIENTS


class RangeError(ValueError):
    """A home range that is not a valid network, with the offending text in the message."""


def parse_ranges(specs: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDR strings ("192.168.1.0/24", "::1") into networks; raise RangeError on the first bad one."""
    networks = []
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        try:
            networks.append(ipaddress.ip_network(spec, strict=False))
        except ValueError as e:
            raise RangeError(f"not an IP address range: {spec!r} ({e})") from None
    return tuple(networks)


@dataclass(frozen=True)
class HomeRanges:
    """The set of networks whose clients may use the proxy."""

    networks: tuple[Network, ...]

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> HomeRanges:
        return cls(parse_ranges(specs))

    def allows(self, address: str) -> bool:
        """True when ``address`` (an IP, possibly an IPv4-mapped IPv6 one) lies inside a home range."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)
