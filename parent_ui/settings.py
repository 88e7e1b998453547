"""Settings the parent changes: mode, client ranges, ignored hosts, retention, country, thresholds and
notifications.

The page shows the values in force (``notalone.config``: defaults < config.toml < environment < flags <
the parent's stored choices) and says where each came from. A save stores only what the parent changed, so an
unchanged save never turns a config.toml setting into a stored one (that would override later edits of
the file, and once stored built-in defaults over it). Values are checked by the config's own rules.

Config-backed keys are stored under :data:`notalone.config.PARENT_SETTINGS` (``proxy.mode``,
``proxy.allowed_clients``, ``proxy.ignore_hosts``, ``retention.days``, ``help.country``,
``help.child_line``, ``help.emergency``); the dashboard's own are ``thresholds.scam``,
``thresholds.grooming``, ``notify.email`` (a dict), ``notify.smtp_password``, ``notify.webhook``,
``notify.digest``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alert_store import MODES, SettingKey
from alert_store.helplines import COUNTRIES, OTHER, HelplineError, helplines_for
from notalone.config import (
    DASHBOARD,
    DEFAULT,
    KEYS,
    PLAIN_HOST_NAME,
    STORED_KEY,
    Config,
    ConfigError,
    convert,
    stored_form,
)
from parent_ui.db import get_db
from parent_ui.i18n import gettext as _
from parent_ui.notifications import Notifier

bp = Blueprint("settings", __name__, url_prefix="/settings")

DIGESTS = ("off", "daily", "weekly")
# Form field -> the config key it sets (stored under STORED_KEY[key]).
CONFIG_FIELDS = {
    "mode": "proxy.mode",
    "allowed_clients": "proxy.home_ranges",
    "ignore_hosts": "proxy.ignore_hosts",
    "retention_days": "retention.days",
    "country": "help.country",
    "child_line": "help.child_line",
    "emergency": "help.emergency",
}
LIST_FIELDS = frozenset({"allowed_clients", "ignore_hosts"})
# Choices a parent can take back, so that config.toml (or the default) is in force again. Not the country:
# the child's pages read it from the store, so it stays stored once chosen.
RESETTABLE = ("proxy.mode", "proxy.home_ranges", "proxy.ignore_hosts", "retention.days")
# The dashboard's own settings (not in config.toml). Thresholds default to None: the model's own, chosen
# on validation data (see models/model-card.json).
DEFAULTS: dict[str, Any] = {
    SettingKey.THRESHOLD_SCAM: None,
    SettingKey.THRESHOLD_GROOMING: None,
    "notify.email": {"to": "", "smtp_host": "", "smtp_port": 587, "smtp_user": "", "starttls": True},
    "notify.webhook": "",
    "notify.digest": "daily",
}
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


@dataclass
class Form:
    """The parsed form: the changed values to store and, per field, what was wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def in_force() -> tuple[Config, list[str]]:
    """The settings in force now: NotAlone's (config.toml, environment, flags) with the parent's choices."""
    base: Config = current_app.extensions["notalone_settings"]
    return base.with_parent_settings(get_db().settings())


def current_settings() -> dict[str, Any]:
    """Everything the page shows, by stored key: the config-backed values in force and the dashboard's own."""
    stored = get_db().settings()
    merged = {key: stored.get(key, default) for key, default in DEFAULTS.items()}
    merged["notify.email"] = {**DEFAULTS["notify.email"], **(stored.get("notify.email") or {})}
    merged["smtp_password_set"] = bool(stored.get("notify.smtp_password"))
    config, _problems = in_force()
    for key in CONFIG_FIELDS.values():
        merged[STORED_KEY[key]] = stored_form(config.get(key))
    return merged


def origin_label(origin: str) -> str:
    """Where a value in force came from, in the parent's words."""
    if origin == DEFAULT:
        return _("NotAlone's default")
    if origin == DASHBOARD:
        return _("your choice on this page")
    if origin.startswith("--"):
        return _("the command-line option {name}", name=origin)
    if origin.startswith("NOTALONE_"):
        return _("the environment variable {name}", name=origin)
    return _("the settings file {name}", name=origin)


KEY_NAMES = {
    "proxy.mode": "What NotAlone does when it finds something",
    "proxy.home_ranges": "Home address ranges allowed to use NotAlone",
    "proxy.ignore_hosts": "Sites never checked (banking, apps that refuse checking)",
    "retention.days": "Keep alerts for (days)",
}


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, tuple) else str(value)


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]


def _number(
    form: Form, key: str, raw: str, low: float, high: float, *, integer: bool = False, optional: bool = False
) -> Any:
    if optional and not raw.strip():
        return None  # blank: back to the default
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        form.errors[key] = _("Enter a number.")
        return None
    if not low <= value <= high:
        form.errors[key] = _("Enter a number from {low} to {high}.", low=low, high=high)
        return None
    return value


def _config_error(field_name: str, raw: Any) -> str:
    """The message for a value the config's rule refused, naming the bad item of a list."""
    key = CONFIG_FIELDS[field_name]
    rule = KEYS[key].rule
    if field_name == "allowed_clients":
        bad = next(item for item in raw if not rule.item.check(item))
        return _("{value} is not an address range like 192.168.1.0/24.", value=bad)
    if field_name == "ignore_hosts":
        bad = next(item for item in raw if not rule.item.check(item))
        return _("{value} is not a host name like bank.example or *.bank.example.", value=bad)
    if field_name == "mode":
        return _("Choose monitor, warn or block.")
    if field_name == "retention_days":
        return _("Enter a number from {low} to {high}.", low=rule.low, high=rule.high)
    if field_name == "country":
        return _("Choose a country from the list.")
    return _("{value} is not a phone number.", value=str(raw)[:40])


def parse_config_fields(data: dict[str, str], config: Config, form: Form) -> None:
    """The config-backed fields: checked by the config's rules, kept only where they differ from
    ``config`` (the values in force). A field the form did not send is left as it is."""
    chosen: dict[str, Any] = {}
    for field_name, key in CONFIG_FIELDS.items():
        if field_name not in data:
            continue
        raw: Any = data[field_name]
        if field_name == "ignore_hosts":
            raw = list(dict.fromkeys(h.casefold().rstrip(".") for h in _lines(raw)))
        elif field_name in LIST_FIELDS:
            raw = _lines(raw)
        try:
            value = convert(key, raw, "Settings")
        except ConfigError:
            form.errors[STORED_KEY[key]] = _config_error(field_name, raw)
            continue
        if field_name == "allowed_clients" and not value:
            form.errors[STORED_KEY[key]] = _("Add at least one range, or no device can use the proxy.")
            continue
        chosen[key] = value
    after = config.with_values(chosen)
    if after.help.country == OTHER:
        try:
            helplines_for(OTHER, after.help.child_line, after.help.emergency)
        except HelplineError:
            form.errors[SettingKey.COUNTRY] = _(
                "For another country, enter its child helpline and its emergency number."
            )
    for key, value in chosen.items():
        if value != config.get(key):
            form.values[STORED_KEY[key]] = stored_form(value)


def parse_settings(data: dict[str, str], config: Config, current: dict[str, Any]) -> Form:
    """The changes ``data`` (the posted form) makes to the settings in force (``config``, ``current``)."""
    form = Form()
    parse_config_fields(data, config, form)
    dashboard: dict[str, Any] = {}
    for risk in ("scam", "grooming"):
        if f"threshold_{risk}" in data:
            key = SettingKey.threshold(risk)
            dashboard[key] = _number(form, key, data[f"threshold_{risk}"], 0.05, 0.99, optional=True)

    email = {
        "to": data.get("email_to", "").strip(),
        "smtp_host": data.get("smtp_host", "").strip(),
        "smtp_user": data.get("smtp_user", "").strip(),
        "starttls": data.get("smtp_starttls") == "on",
        "smtp_port": 587,
    }
    if email["to"] and not EMAIL_PATTERN.match(email["to"]):
        form.errors["notify.email"] = _("{value} is not an email address.", value=email["to"])
    elif email["to"] and not email["smtp_host"]:
        form.errors["notify.email"] = _("Enter the mail server (SMTP) to send email through.")
    elif email["smtp_host"] and not PLAIN_HOST_NAME.check(email["smtp_host"]):
        try:
            ipaddress.ip_address(email["smtp_host"])
        except ValueError:
            form.errors["notify.email"] = _("{value} is not a host name.", value=email["smtp_host"])
    port = Form()
    email["smtp_port"] = _number(port, "port", data.get("smtp_port", "587") or "587", 1, 65535, integer=True)
    if port.errors:
        form.errors["notify.email"] = port.errors["port"]
    elif "notify.email" not in form.errors:
        dashboard["notify.email"] = email
    if password := data.get("smtp_password", ""):
        form.values["notify.smtp_password"] = password

    webhook = data.get("webhook", "").strip()
    parts = urlsplit(webhook) if webhook else None
    if parts and (parts.scheme not in ("http", "https") or not parts.hostname or len(webhook) > 2000):
        form.errors["notify.webhook"] = _("The webhook must be an http:// or https:// address.")
    else:
        dashboard["notify.webhook"] = webhook
    if (digest := data.get("digest", "")) in DIGESTS:
        dashboard["notify.digest"] = digest
    else:
        form.errors["notify.digest"] = _("Choose off, daily or weekly.")
    for key, value in dashboard.items():
        if key not in form.errors and value != current.get(key):
            form.values[key] = value
    return form


@bp.route("/", methods=("GET", "POST"))
def index() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    config, problems = in_force()
    if request.method == "POST":
        form = parse_settings(request.form.to_dict(), config, current_settings())
        if form.errors:
            errors = form.errors
            flash(_("Nothing was saved: please correct the fields marked below."), "error")
        else:
            store = get_db()
            for key, value in form.values.items():
                store.set_setting(key, value)
            flash(_("Settings saved.") if form.values else _("Nothing was changed."), "ok")
            return redirect(url_for("settings.index"))
    origins = {STORED_KEY[key]: origin_label(config.origin(key)) for key in CONFIG_FIELDS.values()}
    base: Config = current_app.extensions["notalone_settings"]
    overrides = [
        (STORED_KEY[key], KEY_NAMES[key], _shown(config.get(key)), _shown(base.get(key)), base.origin(key))
        for key in RESETTABLE
        if config.origin(key) == DASHBOARD
    ]
    status = 400 if errors else 200
    return render_template(
        "settings.html",
        s=current_settings(),
        origins=origins,
        overrides=[(k, name, now, below, origin_label(o)) for k, name, now, below, o in overrides],
        problems=problems,
        errors=errors,
        form=request.form,
        modes=MODES,
        digests=DIGESTS,
        countries=sorted(COUNTRIES.values(), key=lambda h: h.name),
        other=OTHER,
    ), status


@bp.post("/test-notification")
def test_notification() -> ResponseReturnValue:
    """Send a test message on every configured channel now and say, in plain words, how it went."""
    outcomes = Notifier(request.host_url).send_test(get_db())
    if not outcomes:
        flash(
            _("Nothing to test yet: enter an email address or a webhook address and save the settings."),
            "error",
        )
    names = {"email": _("email"), "webhook": _("webhook")}
    for channel, reason in outcomes:
        if reason is None:
            flash(_("Test {channel} sent. Check that it arrived.", channel=names[channel]), "ok")
        else:
            flash(
                _("The test {channel} could not be sent: {reason}.", channel=names[channel], reason=reason),
                "error",
            )
    return redirect(url_for("settings.index"))


@bp.post("/reset")
def reset() -> ResponseReturnValue:
    """Take back one of the parent's choices: the value below it (config.toml, or the default) applies."""
    key = request.form.get("key", "")
    if key not in RESETTABLE:
        abort(400, description="Not a setting that can be reset.")
    get_db().delete_setting(STORED_KEY[key])
    flash(_("Your choice was removed; the value from the settings file or the default is in force."), "ok")
    return redirect(url_for("settings.index"))


@bp.post("/purge")
def purge() -> ResponseReturnValue:
    days = in_force()[0].retention.days
    result = get_db().purge_older_than(days)
    flash(
        _(
            "Deleted {alerts} alerts and {total} records in all, older than {days} days.",
            alerts=result.alerts,
            total=result.total,
            days=days,
        ),
        "ok",
    )
    return redirect(url_for("settings.index"))
