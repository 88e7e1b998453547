"""Step-by-step pages to set up a child's device, and the public CA certificate those steps install."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask.typing import ResponseReturnValue

from parent_ui.children import wireguard_enabled
from parent_ui.db import data_dir

bp = Blueprint("devices", __name__, url_prefix="/setup-device")

PLATFORMS = {
    "windows": "Windows",
    "macos": "macOS",
    "ios": "iPhone and iPad (iOS)",
    "android": "Android",
    "chromeos": "Chromebook (ChromeOS)",
}

# English keys, translated by the template; {host} and {port} are filled in there.
CERT_STEPS = {
    "windows": (
        'Open the downloaded file notalone-ca.pem and choose "Install Certificate".',
        'Choose "Local Machine", then "Place all certificates in the following store" and pick '
        '"Trusted Root Certification Authorities". Finish.',
    ),
    "macos": (
        'Open the downloaded file; Keychain Access opens. Add it to the "System" keychain.',
        'Double-click the "mitmproxy" certificate, open "Trust" and choose "Always Trust".',
    ),
    "ios": (
        'Download the certificate in Safari and tap "Allow".',
        "Open Settings > General > VPN & Device Management and install the downloaded profile.",
        "Open Settings > General > About > Certificate Trust Settings and turn on full trust for "
        '"mitmproxy".',
    ),
    "android": (
        "Open Settings > Security > Encryption & credentials > Install a certificate > CA certificate.",
        'Choose "Install anyway" and pick the downloaded file. Note: many Android apps trust only '
        "built-in certificates, so they are not checked; the browser is.",
    ),
    "chromeos": (
        "Open Settings > Privacy and security > Security > Manage certificates > Authorities > Import.",
        'Pick the downloaded file and tick "Trust this certificate for identifying websites".',
    ),
}
PROXY_STEPS = {
    "windows": "Open Settings > Network & Internet > Proxy > Manual proxy setup. "
    'Turn on "Use a proxy server", '
    "enter address {host} and port {port}, and save.",
    "macos": 'Open System Settings > Network > Wi-Fi > Details > Proxies. Turn on "Web proxy (HTTP)" and '
    '"Secure web proxy (HTTPS)" with server {host} and port {port}.',
    "ios": "Open Settings > Wi-Fi, tap (i) next to your network, then Configure Proxy > Manual: "
    "server {host}, port {port}.",
    "android": "Open Settings > Wi-Fi, hold your network > Modify > Advanced > Proxy: Manual, "
    "host name {host}, port {port}.",
    "chromeos": "Open Settings > Network > Wi-Fi > your network > Proxy > Manual proxy configuration: "
    "{host}, port {port}.",
}


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("devices/index.html", platforms=PLATFORMS)


@bp.get("/<platform>")
def platform(platform: str) -> ResponseReturnValue:
    if platform not in PLATFORMS:
        abort(404)
    return render_template(
        "devices/platform.html",
        platform=platform,
        platforms=PLATFORMS,
        cert_steps=CERT_STEPS[platform],
        proxy_step=PROXY_STEPS[platform],
        proxy_host=request.host.rsplit(":", 1)[0].strip("[]"),
        proxy_port=current_app.config["PROXY_PORT"],
        wireguard=wireguard_enabled(),
        cert_available=data_dir().ca_cert.is_file(),
    )


@bp.get("/notalone-ca.pem")
def ca_cert() -> ResponseReturnValue:
    """Only ever the public certificate at its one fixed path; the name in the URL is not a file name."""
    path = data_dir().ca_cert
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype="application/x-x509-ca-cert",
        as_attachment=True,
        download_name="notalone-ca.pem",
        max_age=0,
    )
