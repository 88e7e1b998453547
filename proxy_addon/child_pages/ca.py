"""The CA children's devices trust, named NotAlone: made before mitmproxy starts, which would otherwise make
one named "mitmproxy" in its confdir (``mitmproxy.certs.CertStore.from_store``)."""

from __future__ import annotations

from pathlib import Path

from mitmproxy.certs import CertStore

CA_NAME = "NotAlone"
BASENAME = (
    "mitmproxy"  # the file names mitmproxy's certs addon reads: mitmproxy-ca.pem, mitmproxy-ca-cert.pem
)
KEY_SIZE = 2048


def ensure_ca(confdir: Path) -> bool:
    """Create the NotAlone CA in ``confdir`` unless a CA is already there; True if it was created now.

    An existing CA is kept, whatever its name: the children's devices already trust it."""
    confdir = Path(confdir).expanduser()
    if (confdir / f"{BASENAME}-ca.pem").exists():
        return False
    CertStore.create_store(confdir, BASENAME, KEY_SIZE, organization=CA_NAME, cn=CA_NAME)
    return True
