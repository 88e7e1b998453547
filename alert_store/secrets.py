"""Short-lived enrolment tokens: the dashboard mints them, the proxy's own pages accept them.

A parent opens the device set-up page on the dashboard and gets a link (and its QR code) to
http://notalone.home.arpa/; on the child's device, with the proxy set, that link hands out NotAlone's CA
certificate without the parent's password. One secret (a 0600 file in the data directory) and one signer
(itsdangerous, salted for this one use) serve both sides, so a token minted by one is checked by the other.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer

ENROLMENT_SALT = "notalone-enrol"
ENROLMENT_MAX_AGE_S = 15 * 60  # long enough to walk to the child's device, short enough to be useless later
ENROLMENT_SECRET_FILE = "enrolment-secret.key"
ENROLMENT_HOST = "notalone.home.arpa"  # served by the proxy itself, so it works once the proxy is set
ENROLMENT_PATH = "/enrol"
_ENROLMENT_PURPOSE = {"purpose": "ca"}


def enrolment_secret(data_dir: Path) -> bytes:
    """The signing secret: made once, readable by NotAlone's user alone (0600)."""
    path = Path(data_dir) / ENROLMENT_SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) < 32:
            raise ValueError(f"{path} holds {len(secret)} bytes, too short for a secret; delete it") from None
        return secret
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret)
    return secret


def enrolment_serializer(data_dir: Path) -> URLSafeTimedSerializer:
    """The one signer of enrolment tokens (``data_dir`` is NotAlone's data directory)."""
    return URLSafeTimedSerializer(enrolment_secret(data_dir), salt=ENROLMENT_SALT)


def mint_enrolment_token(data_dir: Path) -> str:
    return enrolment_serializer(data_dir).dumps(_ENROLMENT_PURPOSE)


def enrolment_token_valid(data_dir: Path, token: str, max_age_s: float = ENROLMENT_MAX_AGE_S) -> bool:
    """True for a token this data directory minted less than ``max_age_s`` seconds ago."""
    try:
        data = enrolment_serializer(data_dir).loads(token, max_age=max_age_s)
    except BadSignature:  # also SignatureExpired
        return False
    return data == _ENROLMENT_PURPOSE


def enrolment_url(token: str) -> str:
    """Where the child's device fetches the CA with ``token``: ``http://notalone.home.arpa/enrol?token=...``."""
    return f"http://{ENROLMENT_HOST}{ENROLMENT_PATH}?token={quote(token, safe='')}"
