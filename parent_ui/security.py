"""The dashboard's own defences: the Host check, the session secret, CSRF tokens and the login throttle."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, session
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

SECRET_KEY_FILE = "dashboard-secret.key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def load_or_create_secret_key(root: Path) -> bytes:
    """The session-signing key: generated once, kept in the data directory readable by us alone (0600)."""
    path = root / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < 32:
            raise RuntimeError(
                f"{path} holds {len(key)} bytes, too short for a session key; delete it"
            ) from None
        return key
    key = secrets.token_bytes(64)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


# -- Host names ---------------------------------------------------------------------------------------------
def _is_own_address(address: str) -> bool:
    """True for an address of this machine: loopback, or one a socket can be bound to (which the kernel
    allows only for its own interfaces' addresses, so the answer follows DHCP changes)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    if ip.is_unspecified or ip.is_multicast:
        return False
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(ip), 0))
    except OSError:
        return False
    return True


def own_host_names(configured: tuple[str, ...] | list[str] = ()) -> frozenset[str]:
    """The names this machine answers to: localhost, its host name (with .local for mDNS), its fully
    qualified name, and the names the parent configured (``dashboard.host_names``)."""
    name = socket.gethostname().casefold()
    names = {"localhost", name, f"{name}.local", socket.getfqdn().casefold()}
    names |= {n.casefold().rstrip(".") for n in configured}
    return frozenset(n for n in names if n)


def host_is_own(host: str, names: frozenset[str]) -> bool:
    """True when a request's ``Host`` (``name``, ``name:port``, ``[v6]:port``) is one of ``names`` (see
    :func:`own_host_names`) or an address of this machine."""
    try:
        hostname = urlsplit("//" + host).hostname or ""
    except ValueError:
        return False
    hostname = hostname.rstrip(".")
    return hostname in names or _is_own_address(hostname)


def check_host() -> None:
    """Refuse a request whose Host is not one of the box's: a web page that rebinds its own DNS name to
    the box's address (DNS rebinding) would otherwise be same-origin with the dashboard, able to read it
    and to post /setup before the parent has. (Flask's TRUSTED_HOSTS wants a fixed list; the box's
    addresses change with DHCP, so an address is checked against the machine's interfaces when it comes.)"""
    if not host_is_own(request.host, current_app.extensions["notalone_host_names"]):
        abort(
            400,
            description="This dashboard answers only at the NotAlone machine's own addresses and names. "
            "Open it at the address `notalone up` printed, or add this name to dashboard.host_names.",
        )


# -- CSRF -------------------------------------------------------------------------------------------------
def csrf_token() -> str:
    """This session's CSRF token, created on first use; templates put it in every form."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def rotate_csrf_token() -> None:
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def check_csrf() -> None:
    """Refuse (400) any state-changing request whose token is missing or not this session's."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(CSRF_FIELD, "")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        abort(
            400, description="The form has expired or did not come from this dashboard. Reload and try again."
        )


# -- login throttle ---------------------------------------------------------------------------------------
class LoginThrottle:
    """Wrong passwords allowed in a moving window of ``window_s``: ``max_failures`` per client address, and
    ``max_failures_all`` from all addresses together, so that guesses spread over many addresses are
    refused too. The box itself (loopback) is never held back by the others' failures, only by its own:
    the parent can always get in at the machine. Counted with the ``limits`` library's moving window in
    memory (one waitress process serves the dashboard; its storage expires old entries itself)."""

    def __init__(self, max_failures: int, window_s: int, max_failures_all: int) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_address = RateLimitItemPerSecond(max_failures, window_s)
        self._everyone = RateLimitItemPerSecond(max_failures_all, window_s)

    def locked_for(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        checks = [(self._per_address, ("address", client))]
        if not _is_loopback(client):
            checks.append((self._everyone, ("everyone",)))
        wait = 0.0
        for item, identifiers in checks:
            if not self._limiter.test(item, *identifiers):
                reset_at = self._limiter.get_window_stats(item, *identifiers).reset_time
                wait = max(wait, reset_at - time.time(), 1.0)
        return wait

    def record_failure(self, client: str) -> None:
        self._limiter.hit(self._per_address, "address", client)
        self._limiter.hit(self._everyone, "everyone")

    def reset(self, client: str) -> None:
        """After a good password: this address starts afresh (the count for everyone stays)."""
        self._limiter.clear(self._per_address, "address", client)


def _is_loopback(client: str) -> bool:
    try:
        return ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False


def login_throttle() -> LoginThrottle:
    return current_app.extensions["notalone_login_throttle"]


def init_app(app: Flask) -> None:
    app.extensions["notalone_login_throttle"] = LoginThrottle(
        app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_WINDOW_S"], app.config["LOGIN_MAX_FAILURES_ALL"]
    )
    # Looked up once: socket.getfqdn() may wait on DNS, which no request should.
    app.extensions["notalone_host_names"] = own_host_names(app.config.get("HOST_NAMES", ()))
    app.before_request(check_host)  # first: before the set-up gate and the CSRF check
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target only if it is a path on this site (no scheme, no ``//host``, no backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 0x20 for ch in target):
        return default
    return target
