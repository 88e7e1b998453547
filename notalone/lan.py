"""The address devices on the home network use to reach this machine, found without sending any traffic."""

from __future__ import annotations

import ipaddress
import socket
import subprocess

# connect() on a UDP socket sends nothing: the kernel only picks the route, and with it the source address
# this machine would use. A private address keeps the choice on the home network's interface.
_PROBE_ADDRESS = ("10.255.255.255", 9)
_ANY = frozenset({"", "0.0.0.0", "::", "*"})


def _usable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local)


def _from_route() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(_PROBE_ADDRESS)
            address = sock.getsockname()[0]
    except OSError:
        return None
    return address if _usable(address) else None


def _from_ip_command() -> str | None:
    """The first global IPv4 address ``ip -4 -o addr show scope global`` lists (Linux)."""
    try:
        output = subprocess.run(
            ["ip", "-4", "-o", "addr", "show", "scope", "global"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in output.splitlines():
        words = line.split()
        if "inet" in words and words.index("inet") + 1 < len(words):
            address = words[words.index("inet") + 1].split("/", 1)[0]
            if _usable(address):
                return address
    return None


def lan_ip() -> str | None:
    """This machine's LAN IPv4 address, or None when it has none (no network yet)."""
    return _from_route() or _from_ip_command()


def lan_address() -> str:
    """This machine's LAN IPv4 address; the host name when none can be found (no network yet)."""
    return lan_ip() or socket.gethostname()


def advertised_host(listen_host: str) -> str:
    """What to tell a parent to type: the LAN address when listening everywhere, else the address itself."""
    return lan_address() if listen_host in _ANY else listen_host


def port_free(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    """True when ``host:port`` can be bound now (so a part will not fail at once with 'address in use')."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bind_host = host if host not in _ANY else ("::" if family == socket.AF_INET6 else "0.0.0.0")
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers themselves do
        try:
            sock.bind((bind_host, port))
        except OSError:
            return False
    return True
