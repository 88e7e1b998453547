"""The one signer for tokens that cross between NotAlone's parts: the child pages' form and action tokens,
and the short-lived device enrolment link the parent's dashboard mints and the child pages check.

One secret per data directory (``signing-secret``, 0600), read by both the proxy and the dashboard; each
use signs under its own ``purpose`` (itsdangerous' salt), so a token made for one use is refused by another.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

# The child pages' host, which the proxy answers itself (home.arpa: RFC 8375). Plain http for enrolment: a
# device without the NotAlone CA yet cannot open https pages through the proxy.
CHILD_PAGES_HOST = "notalone.home.arpa"
ENROL_URL = f"http://{CHILD_PAGES_HOST}/enrol/"
SECRET_FILE = "signing-secret"
SECRET_BYTES = 32
ENROL = "enrol"  # the purpose of a device enrolment token
ENROL_MAX_AGE_S = 30 * 60


class SecretError(OSError):
    """The secret file exists but cannot be used, with its path in the message."""


def load_secret(data_dir: Path, attempts: int = 50) -> bytes:
    """The data directory's signing secret, created (mode 0600, atomically) if it does not exist yet."""
    path = Path(data_dir) / SECRET_FILE
    for _ in range(attempts):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = path.read_bytes()
            if len(secret) >= SECRET_BYTES:  # else another process is writing it right now
                path.chmod(0o600)
                return secret
            time.sleep(0.05)
            continue
        secret = secrets.token_bytes(SECRET_BYTES)
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
        return secret
    raise SecretError(f"the signing secret {path} is shorter than {SECRET_BYTES} bytes")


def signer(data_dir: Path, purpose: str) -> URLSafeTimedSerializer:
    """The signer for ``purpose`` over the data directory's secret (``dumps``; ``loads(max_age=...)``)."""
    return URLSafeTimedSerializer(load_secret(data_dir), salt=f"notalone.{purpose}")


def mint_enrolment(data_dir: Path, device_name: str = "") -> str:
    """A token for the link (or QR code) the parent's dashboard shows to enrol a child's device: with it the
    device downloads the NotAlone CA from the child pages, no parent password needed, for 30 minutes."""
    return signer(data_dir, ENROL).dumps({"name": device_name[:60]})


def enrolment_link(data_dir: Path, device_name: str = "") -> str:
    """The link (or QR code) the dashboard shows: opened on the child's device, it leads to the NotAlone CA
    and its install steps, without the parent's password, for 30 minutes."""
    return ENROL_URL + mint_enrolment(data_dir, device_name)


def check_enrolment(data_dir: Path, token: str, max_age_s: int = ENROL_MAX_AGE_S) -> dict[str, Any] | None:
    """What a valid, unexpired enrolment token carries; None for anything else."""
    try:
        claims = signer(data_dir, ENROL).loads(token, max_age=max_age_s)
    except BadData:
        return None
    return claims if isinstance(claims, dict) else None
