"""Settings the parent changes: mode, thresholds, retention, client ranges, ignored hosts, notifications.

Each is one key of the store's settings table (the proxy reads them and they override config.toml):
``proxy.mode``, ``thresholds.scam``, ``thresholds.grooming``, ``retention.days``, ``proxy.allowed_clients``,
``proxy.ignore_hosts``, ``notify.email`` (a dict), ``notify.smtp_password``, ``notify.webhook``,
``notify.digest``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alert_store import DEFAULT_ALLOWED_CLIENTS, SettingKey
from parent_ui.db import get_db
from parent_ui.i18n import gettext as _
from parent_ui.notifications import Notifier

bp = Blueprint("settings", __name__, url_prefix="/settings")

MODES = ("monitor", "warn", "block")
DIGESTS = ("off", "daily", "weekly")
# Thresholds default to None: the model's own, chosen on validation data (see models/model-card.json).
DEFAULTS: dict[str, Any] = {
    SettingKey.MODE: "monitor",
    SettingKey.THRESHOLD_SCAM: None,
    SettingKey.THRESHOLD_GROOMING: None,
    SettingKey.RETENTION_DAYS: 30,
    SettingKey.ALLOWED_CLIENTS: list(DEFAULT_ALLOWED_CLIENTS),
    SettingKey.IGNORE_HOSTS: [],
    "notify.email": {"to": "", "smtp_host": "", "smtp_port": 587, "smtp_user": "", "starttls": True},
    "notify.webhook": "",
    "notify.digest": "daily",
}
HOST_PATTERN = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


@dataclass
class Form:
    """The parsed form: values to store and, per field, what was wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def current_settings() -> dict[str, Any]:
    stored = get_db().settings()
    merged = {key: stored.get(key, default) for key, default in DEFAULTS.items()}
    merged["notify.email"] = {**DEFAULTS["notify.email"], **(stored.get("notify.email") or {})}
    merged["smtp_password_set"] = bool(stored.get("notify.smtp_password"))
    return merged


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]


def _number(
    form: Form, key: str, raw: str, low: float, high: float, *, integer: bool = False, optional: bool = False
) -> None:
    if optional and not raw.strip():
        form.values[key] = None  # blank: back to the default
        return
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        form.errors[key] = _("Enter a number.")
        return
    if not low <= value <= high:
        form.errors[key] = _("Enter a number from {low} to {high}.", low=low, high=high)
        return
    form.values[key] = value


def parse_settings(data: dict[str, str]) -> Form:
    form = Form()
    if (mode := data.get("mode", "")) in MODES:
        form.values["proxy.mode"] = mode
    else:
        form.errors["proxy.mode"] = _("Choose monitor, warn or block.")
    for risk in ("scam", "grooming"):
        raw = data.get(f"threshold_{risk}", "")
        _number(form, SettingKey.threshold(risk), raw, 0.05, 0.99, optional=True)
    _number(form, "retention.days", data.get("retention_days", ""), 1, 3650, integer=True)

    networks = []
    for item in _lines(data.get("allowed_clients", "")):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            form.errors["proxy.allowed_clients"] = _(
                "{value} is not an address range like 192.168.1.0/24.", value=item
            )
            break
    else:
        if networks:
            form.values["proxy.allowed_clients"] = networks
        else:
            form.errors["proxy.allowed_clients"] = _(
                "Add at least one range, or no device can use the proxy."
            )

    hosts = [h.casefold().rstrip(".") for h in _lines(data.get("ignore_hosts", ""))]
    if bad := next((h for h in hosts if len(h) > 253 or not HOST_PATTERN.match(h)), None):
        form.errors["proxy.ignore_hosts"] = _(
            "{value} is not a host name like bank.example or *.bank.example.", value=bad
        )
    else:
        form.values["proxy.ignore_hosts"] = list(dict.fromkeys(hosts))

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
    elif email["smtp_host"] and not HOST_PATTERN.match(email["smtp_host"].casefold()):
        try:
            ipaddress.ip_address(email["smtp_host"])
        except ValueError:
            form.errors["notify.email"] = _("{value} is not a host name.", value=email["smtp_host"])
    port = Form()
    _number(port, "port", data.get("smtp_port", "587") or "587", 1, 65535, integer=True)
    if port.errors:
        form.errors["notify.email"] = port.errors["port"]
    elif "notify.email" not in form.errors:
        email["smtp_port"] = port.values["port"]
        form.values["notify.email"] = email
    if password := data.get("smtp_password", ""):
        form.values["notify.smtp_password"] = password

    webhook = data.get("webhook", "").strip()
    parts = urlsplit(webhook) if webhook else None
    if parts and (parts.scheme not in ("http", "https") or not parts.hostname or len(webhook) > 2000):
        form.errors["notify.webhook"] = _("The webhook must be an http:// or https:// address.")
    else:
        form.values["notify.webhook"] = webhook
    if (digest := data.get("digest", "")) in DIGESTS:
        form.values["notify.digest"] = digest
    else:
        form.errors["notify.digest"] = _("Choose off, daily or weekly.")
    return form


@bp.route("/", methods=("GET", "POST"))
def index() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = parse_settings(request.form.to_dict())
        if form.errors:
            errors = form.errors
            flash(_("Nothing was saved: please correct the fields marked below."), "error")
        else:
            store = get_db()
            for key, value in form.values.items():
                store.set_setting(key, value)
            flash(_("Settings saved."), "ok")
            return redirect(url_for("settings.index"))
    status = 400 if errors else 200
    return render_template(
        "settings.html", s=current_settings(), errors=errors, form=request.form, modes=MODES, digests=DIGESTS
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


@bp.post("/purge")
def purge() -> ResponseReturnValue:
    days = current_settings()["retention.days"]
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
