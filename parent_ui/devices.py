"""Step-by-step pages to set up a child's device, and the public CA certificate those steps install.

The pages name the address children's devices use, the one `notalone up` printed (never the address the
parent opened the dashboard with: on the child's device, 127.0.0.1 is the device itself), and give a
short-lived enrolment link and QR code, so the child's device gets the certificate from NotAlone's own page
(http://notalone.home.arpa/) without the parent's password being typed there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_file
from flask.typing import ResponseReturnValue

from alert_store import SettingKey
from alert_store.signing import ENROL_MAX_AGE_S, enrolment_link
from parent_ui.children import wireguard_enabled
from parent_ui.db import data_dir, get_db

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
        'Open the downloaded NotAlone certificate file and choose "Install Certificate".',
        'Choose "Local Machine", then "Place all certificates in the following store" and pick '
        '"Trusted Root Certification Authorities". Finish.',
    ),
    "macos": (
        'Open the downloaded file; Keychain Access opens. Add it to the "System" keychain.',
        'Double-click the "{ca}" certificate, open "Trust" and choose "Always Trust".',
    ),
    "ios": (
        'Open the link in Safari and tap "Allow" to download the profile.',
        "Open Settings > General > VPN & Device Management and install the downloaded profile.",
        'Open Settings > General > About > Certificate Trust Settings and turn on full trust for "{ca}".',
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


PHONES = frozenset({"ios", "android"})
DEFAULT_CA_NAME = "NotAlone"


@dataclass(frozen=True)
class ProxyAddress:
    """Where children's devices send their traffic. ``host`` is None when it is not known here."""

    host: str | None
    port: int

    @property
    def loopback(self) -> bool:
        """True when only this computer can reach it (127.0.0.1, localhost): devices cannot use it."""
        if self.host is None:
            return False
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


def proxy_address() -> ProxyAddress:
    """What `notalone up` printed (it records it in the store), else the dashboard's ``PROXY_HOST``."""
    status = get_db().settings().get(SettingKey.UP_STATUS)
    if isinstance(status, dict) and isinstance(status.get("proxy"), str):
        host, _, port = status["proxy"].rpartition(":")
        if host and port.isdigit():
            return ProxyAddress(host.strip("[]"), int(port))
    return ProxyAddress(current_app.config.get("PROXY_HOST"), current_app.config["PROXY_PORT"])


def ca_name() -> str:
    """The certificate's name as the device shows it (NotAlone; mitmproxy for a CA made before)."""
    path = data_dir().ca_cert
    return _ca_name(path, path.stat().st_mtime) if path.is_file() else DEFAULT_CA_NAME


@lru_cache(maxsize=4)
def _ca_name(path: Path, _mtime: float) -> str:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return DEFAULT_CA_NAME
    return str(names[0].value) if names else DEFAULT_CA_NAME


def qr_data_uri(text: str) -> str:
    """``text`` as an SVG QR code in a data: URI (the pages' CSP allows data: images, no scripts)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("devices/index.html", platforms=PLATFORMS, proxy=proxy_address())


@bp.get("/<platform>")
def platform(platform: str) -> ResponseReturnValue:
    if platform not in PLATFORMS:
        abort(404)
    link = enrolment_link(data_dir().root)
    return render_template(
        "devices/platform.html",
        platform=platform,
        platforms=PLATFORMS,
        cert_steps=CERT_STEPS[platform],
        proxy_step=PROXY_STEPS[platform],
        proxy=proxy_address(),
        wireguard=wireguard_enabled(),
        cert_available=data_dir().ca_cert.is_file(),
        ca_name=ca_name(),
        enrolment_link=link,
        enrolment_qr=qr_data_uri(link) if platform in PHONES else None,
        enrolment_minutes=ENROL_MAX_AGE_S // 60,
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
