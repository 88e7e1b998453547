"""Login, logout and password change; the parent's session and the first-run check every request uses.

The session cookie is signed, but a signature alone cannot be taken back: the cookie names a random
session token, and only a session whose token's hash is in the store (``dashboard_sessions``) is logged in.
Logout deletes it; a password change deletes them all; each expires after ``PERMANENT_SESSION_LIFETIME``
counted from the login (not renewed by use). A cookie replayed after any of these opens nothing.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.security import check_password_hash, generate_password_hash

from parent_ui.db import get_db
from parent_ui.i18n import gettext as _
from parent_ui.security import login_throttle, rotate_csrf_token, safe_next

bp = Blueprint("auth", __name__)

PASSWORD_HASH_KEY = "auth.password_hash"
MIN_PASSWORD_LENGTH = 8
PARENT = "parent"
SESSION_TOKEN = "sid"


def _settings() -> dict:
    if "settings" not in g:
        g.settings = get_db().settings()
    return g.settings


def is_setup_done() -> bool:
    return bool(_settings().get(PASSWORD_HASH_KEY))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime_s() -> float:
    return current_app.permanent_session_lifetime.total_seconds()


def current_parent() -> str | None:
    """``"parent"`` when this session's token is still live in the store, else ``None``."""
    token = session.get(SESSION_TOKEN)
    if session.get("parent") != PARENT or not isinstance(token, str):
        return None
    if not get_db().session_active(_token_hash(token), _lifetime_s()):
        return None
    return PARENT


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def password_problem(password: str, confirm: str) -> str | None:
    """Why a new password is refused, in the parent's language, or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password needs at least {n} characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > 1024:
        return _("The password is too long.")
    if password != confirm:
        return _("The two passwords are not the same.")
    return None


def set_password(password: str) -> None:
    """Store a new password hash and end every existing session, everywhere."""
    store = get_db()
    store.set_setting(PASSWORD_HASH_KEY, hash_password(password))
    store.end_sessions()
    g.pop("settings", None)


def _clear_session_keeping_language() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def start_session() -> None:
    """Log the parent in with a fresh session: nothing an attacker planted before login survives."""
    _clear_session_keeping_language()
    token = secrets.token_urlsafe(32)
    store = get_db()
    store.end_sessions(older_than_s=_lifetime_s())  # expired ones: keep the table small
    store.add_session(_token_hash(token))
    session["parent"] = PARENT
    session[SESSION_TOKEN] = token
    session.permanent = True
    rotate_csrf_token()


def end_session() -> None:
    """Log this session out, server-side: its cookie, kept or copied, no longer opens anything."""
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        get_db().end_session(_token_hash(token))
    _clear_session_keeping_language()


@bp.route("/login", methods=("GET", "POST"))
def login() -> ResponseReturnValue:
    if g.get("parent"):
        return redirect(url_for("alerts.index"))
    client = request.remote_addr or "unknown"
    error = None
    status = 200
    if request.method == "POST":
        wait = login_throttle().locked_for(client)
        if wait > 0:
            error = _(
                "Too many wrong passwords. Try again in {minutes} minutes.", minutes=int(wait // 60) + 1
            )
            status = 429
        elif check_password_hash(_settings().get(PASSWORD_HASH_KEY, ""), request.form.get("password", "")):
            login_throttle().reset(client)
            start_session()
            current_app.logger.info("parent logged in from %s", client)
            return redirect(safe_next(request.form.get("next"), url_for("alerts.index")))
        else:
            login_throttle().record_failure(client)
            current_app.logger.warning("failed login from %s", client)
            error = _("That password is not right.")
            status = 401
    return render_template("auth/login.html", error=error, next=request.values.get("next", "")), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    end_session()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=("GET", "POST"))
def change_password() -> ResponseReturnValue:
    error = None
    if request.method == "POST":
        if not check_password_hash(_settings().get(PASSWORD_HASH_KEY, ""), request.form.get("current", "")):
            error = _("Your current password is not right.")
        else:
            error = password_problem(request.form.get("password", ""), request.form.get("confirm", ""))
        if error is None:
            set_password(request.form["password"])
            start_session()
            flash(_("Password changed. Other devices have been logged out."), "ok")
            return redirect(url_for("alerts.index"))
    return render_template("auth/password.html", error=error), 400 if error else 200
