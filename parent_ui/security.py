"""The dashboard's own defences: the session secret, CSRF tokens and the login throttle."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from flask import Flask, abort, current_app, request, session

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
    """At most ``max_failures`` failed logins per client address in ``window_s``; then locked until the
    oldest failure leaves the window. Kept in memory: one waitress process serves the dashboard."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def locked_for(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        now = time.time() if now is None else now
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) < self.max_failures:
                return 0.0
            return failures[0] + self.window_s - now

    def record_failure(self, client: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bound memory against address-spraying
                self._failures = {k: v for k, v in self._failures.items() if v}

    def reset(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def login_throttle() -> LoginThrottle:
    return current_app.extensions["notalone_login_throttle"]


def init_app(app: Flask) -> None:
    app.extensions["notalone_login_throttle"] = LoginThrottle(
        app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_WINDOW_S"]
    )
    app.before_request(check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target only if it is a path on this site (no scheme, no ``//host``, no backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 0x20 for ch in target):
        return default
    return target
