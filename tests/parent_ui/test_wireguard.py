"""The per-child WireGuard configuration page: the config text, its download and its QR code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from alert_store import DataDir


def _key() -> str:
    return base64.b64encode(X25519PrivateKey.generate().private_bytes_raw()).decode()


def test_wireguard_config_download_and_qr_code(app, client, auth):
    confdir = DataDir(Path(app.config["DATA_DIR"])).ensure().confdir
    (confdir / "wireguard.conf").write_text(json.dumps({"server_key": _key(), "client_key": _key()}))
    auth.login()
    page = client.get("/children/An/wireguard.conf")
    assert page.status_code == 200
    assert b"[Interface]" in page.data and b"wireguard.svg" in page.data
    download = client.get("/children/An/wireguard.conf?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert b"PrivateKey" in download.data
    qr = client.get("/children/An/wireguard.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert qr.data.lstrip().startswith(b"<?xml") and b"<svg" in qr.data


def test_no_wireguard_config_for_an_unknown_child_or_without_keys(app, client, auth):
    auth.login()
    assert client.get("/children/An/wireguard.svg").status_code == 404
    assert client.get("/children/Nobody/wireguard.svg").status_code == 404
    assert client.get("/children/..%2F..%2Fetc/wireguard.svg").status_code == 404
