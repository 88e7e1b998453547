"""Children and devices: profiles, per-child sensitivity, which device belongs to whom, WireGuard configs."""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from alert_store import StoreError
from parent_ui.db import data_dir, get_db
from parent_ui.i18n import gettext as _

bp = Blueprint("children", __name__, url_prefix="/children")

SENSITIVITY_CATEGORIES = ("scam", "grooming")
SENSITIVITIES = ("low", "normal", "high")


def _wireguard_conf_path(child: str) -> Path | None:
    """mitmproxy's key file for this child (``wireguard-<child>.conf``) or the shared ``wireguard.conf``."""
    confdir = data_dir().confdir
    slug = re.sub(r"[^a-z0-9]+", "-", child.casefold()).strip("-")
    candidates = ([confdir / f"wireguard-{slug}.conf"] if slug else []) + [confdir / "wireguard.conf"]
    return next((path for path in candidates if path.is_file()), None)


def wireguard_enabled() -> bool:
    status = get_db().settings().get("status.proxy", {})
    mode = status.get("mode", "") if isinstance(status, dict) else ""
    return "wireguard" in str(mode) or (data_dir().confdir / "wireguard.conf").is_file()


def _public_key(private_key_b64: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    raw = base64.b64decode(private_key_b64, validate=True)
    return base64.b64encode(X25519PrivateKey.from_private_bytes(raw).public_key().public_bytes_raw()).decode()


def wireguard_client_config(child: str, endpoint_host: str) -> str | None:
    """The client side of mitmproxy's WireGuard mode (as mitmproxy itself prints it), or ``None``."""
    path = _wireguard_conf_path(child)
    if path is None:
        return None
    try:
        keys = json.loads(path.read_text())
        server_public = _public_key(keys["server_key"])
        client_private = keys["client_key"]
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        current_app.logger.error("unreadable WireGuard key file %s: %s", path, exc)
        return None
    port = int(current_app.config["WIREGUARD_PORT"])
    host = f"[{endpoint_host}]" if ":" in endpoint_host else endpoint_host
    return (
        "[Interface]\n"
        f"PrivateKey = {client_private}\n"
        "Address = 10.0.0.1/32\n"
        "DNS = 10.0.0.53\n\n"
        "[Peer]\n"
        f"PublicKey = {server_public}\n"
        "AllowedIPs = 0.0.0.0/0\n"
        f"Endpoint = {host}:{port}\n"
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    store = get_db()
    return render_template(
        "children/index.html",
        children=store.children(),
        devices=store.devices(),
        sensitivity_categories=SENSITIVITY_CATEGORIES,
        sensitivities=SENSITIVITIES,
        wireguard=wireguard_enabled(),
    )


@bp.post("/add")
def add() -> ResponseReturnValue:
    store = get_db()
    name = request.form.get("name", "").strip()
    if name in store.children():
        flash(_("{name} is already in the list.", name=name), "error")
    else:
        try:
            store.add_child(name)
        except StoreError:
            flash(_("A child's name needs 1 to 60 characters."), "error")
        else:
            flash(_("{name} added.", name=name), "ok")
    return redirect(url_for("children.index"))


@bp.post("/<path:name>/remove")
def remove(name: str) -> ResponseReturnValue:
    if not get_db().remove_child(name):
        abort(404)
    flash(_("{name} removed. Their devices are now unassigned.", name=name), "ok")
    return redirect(url_for("children.index"))


@bp.post("/<path:name>/sensitivity")
def sensitivity(name: str) -> ResponseReturnValue:
    store = get_db()
    children = store.children()
    if name not in children:
        abort(404)
    settings = dict(children[name])
    chosen = dict(settings.get("sensitivity", {}))
    for category in SENSITIVITY_CATEGORIES:
        value = request.form.get(category, "normal")
        if value not in SENSITIVITIES:
            flash(_("Unknown sensitivity {value}.", value=value), "error")
            return redirect(url_for("children.index"))
        chosen[category] = value
    settings["sensitivity"] = chosen
    store.add_child(name, settings)
    flash(_("Saved sensitivity for {name}.", name=name), "ok")
    return redirect(url_for("children.index"))


@bp.post("/devices/assign")
def assign_device() -> ResponseReturnValue:
    store = get_db()
    device = request.form.get("device", "")
    child = request.form.get("child", "")
    if store.device(device) is None:
        abort(404)
    if child and child not in store.children():
        flash(_("Choose a child from the list."), "error")
        return redirect(url_for("children.index"))
    label = request.form.get("label", "").strip()[:60]
    store.assign_device(device, child or None, label or None)
    flash(_("Device saved."), "ok")
    return redirect(url_for("children.index"))


def _child_wireguard_config(name: str) -> str:
    if name not in get_db().children():
        abort(404)
    config = wireguard_client_config(name, request.host.rsplit(":", 1)[0].strip("[]"))
    if config is None:
        abort(404)
    return config


@bp.get("/<path:name>/wireguard.svg")
def wireguard_qr(name: str) -> ResponseReturnValue:
    """The configuration as a QR code, for the WireGuard app's "scan from QR code" on a phone."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(_child_wireguard_config(name), error="m").save(
        out, kind="svg", scale=5, border=2, title="WireGuard"
    )
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@bp.get("/<path:name>/wireguard.conf")
def wireguard_config(name: str) -> ResponseReturnValue:
    config = _child_wireguard_config(name)
    if request.args.get("download"):
        return Response(
            config,
            mimetype="text/plain",
            headers={
                "Content-Disposition": 'attachment; filename="notalone-wireguard.conf"',
            },
        )
    return render_template("children/wireguard.html", name=name, config=config)
