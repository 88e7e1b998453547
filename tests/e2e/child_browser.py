"""A child's browser for the end-to-end tests: Debian's headless Chromium sending everything through a
NotAlone proxy and trusting that proxy's CA (and nothing else it would not trust anyway), as a child's
set-up device does."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from proxy_harness import ProxyProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000


def spki_sha256(ca_cert: Path) -> str:
    """The base64 SHA-256 of the CA's public key, as Chromium's ``--ignore-certificate-errors-spki-list``
    takes it: certificates chained to that key are accepted, as on a device where the CA is installed."""
    key = x509.load_pem_x509_certificate(ca_cert.read_bytes()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def launch(playwright: Any, proxy: ProxyProcess) -> Any:
    """Chromium through ``proxy`` (loopback included: the test origins are on 127.0.0.1)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            f"--proxy-server={proxy.url}",
            "--proxy-bypass-list=<-loopback>",
            f"--ignore-certificate-errors-spki-list={spki_sha256(proxy.data_dir.ca_cert)}",
        ],
    )
