"""The parent dashboard: a Flask app (application factory, one blueprint per area) over the alert store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, redirect, request, url_for

from alert_store import DataDir, default_data_dir
from notalone.config import Config, load_config

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "notalone_session",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "MAX_CONTENT_LENGTH": 1024 * 1024,
}

# Endpoints served without a login. Everything else is refused unless the parent is logged in: the gate
# is an allow-list in ``before_request`` so that a new route is protected without anyone remembering to.
PUBLIC_ENDPOINTS = frozenset({"static", "auth.login", "setup.setup", "i18n.set_language"})
SETUP_ENDPOINTS = frozenset({"static", "setup.setup", "i18n.set_language"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _dashboard_config(settings: Config) -> dict[str, Any]:
    """The ``[dashboard]`` settings in Flask's upper-case names, plus the ports the device pages show."""
    values = {name.upper(): value for name, value in vars(settings.dashboard).items()}
    values |= {"PROXY_PORT": settings.proxy.port, "WIREGUARD_PORT": settings.proxy.wireguard_port}
    return values


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the dashboard: defaults, then NotAlone's settings, then ``test_config``.

    The settings are ``test_config["SETTINGS"]`` (a :class:`notalone.config.Config`, as ``notalone
    dashboard`` passes them) or else loaded from the data directory's ``config.toml`` and the environment;
    the Settings page overlays the parent's stored choices on them (``parent_ui.settings.in_force``).
    """
    test_config = dict(test_config or {})
    root = Path(test_config.get("DATA_DIR") or default_data_dir())
    config = test_config.pop("SETTINGS", None) or load_config(DataDir(root).config_file)
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(_dashboard_config(config))
    app.config.from_mapping(test_config)
    app.extensions["notalone_settings"] = config
    app.config["DATA_DIR"] = str(Path(app.config.get("DATA_DIR") or root))
    DataDir(Path(app.config["DATA_DIR"])).ensure()

    from parent_ui import security

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = security.load_or_create_secret_key(Path(app.config["DATA_DIR"]))

    from parent_ui import db, i18n

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)

    from parent_ui import alerts, auth, children, commands, devices, overview, settings, setup

    for blueprint in (
        setup.bp,
        auth.bp,
        alerts.bp,
        overview.bp,
        children.bp,
        settings.bp,
        devices.bp,
        i18n.bp,
    ):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", endpoint="index", view_func=lambda: redirect(url_for("alerts.index")))
    commands.init_app(app)

    from parent_ui.guidance import CATEGORY_NAMES, SEVERITY_NAMES
    from parent_ui.text import reveal_controls

    app.jinja_env.globals.update(CATEGORY_NAMES=CATEGORY_NAMES, SEVERITY_NAMES=SEVERITY_NAMES)
    app.jinja_env.filters["reveal"] = reveal_controls
    app.jinja_env.filters["iso"] = _iso_time
    app.before_request(_gate)
    app.after_request(_security_headers)
    app.context_processor(_nav_context)
    return app


def _gate() -> Response | None:
    """Send everyone to first-run setup until it is done, then everyone without a session to the login."""
    from parent_ui.auth import current_parent, is_setup_done

    endpoint = request.endpoint or ""
    if not is_setup_done():
        return None if endpoint in SETUP_ENDPOINTS else redirect(url_for("setup.setup"))
    if endpoint == "setup.setup":
        return redirect(url_for("auth.login"))
    g.parent = current_parent()
    if g.parent is None and endpoint not in PUBLIC_ENDPOINTS:
        if request.method == "GET" and endpoint:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))
    return None


def _iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _security_headers(response: Response) -> Response:
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _nav_context() -> dict[str, Any]:
    """The unread count and the proxy's status, for the header of every logged-in page."""
    if getattr(g, "parent", None) is None:
        return {"unread_count": None, "scoring_off": False, "filter_down": None}
    from alert_store import SettingKey
    from parent_ui.db import get_db

    settings = g.settings if "settings" in g else {}
    status = settings.get(SettingKey.PROXY_STATUS, {})
    return {
        "unread_count": get_db().unread_count(),
        "scoring_off": isinstance(status, dict) and status.get("scoring") == "off",
        "filter_down": _filter_down(settings.get(SettingKey.UP_STATUS)),
    }


def _filter_down(status: Any) -> str | None:
    """Why the filter (the proxy) is not running, as `notalone up` recorded it; None while it runs."""
    parts = status.get("parts") if isinstance(status, dict) else None
    proxy = parts.get("proxy") if isinstance(parts, dict) else None
    if isinstance(proxy, dict) and proxy.get("running") is False:
        return str(proxy.get("reason") or "")
    return None
