"""Per-device form tokens for the help forms, so that a hostile page cannot forge a help request (CSRF).

A token is the HMAC-SHA256 of the device id and an hour-long time bucket, under a secret kept in the data
directory (mode 0600) so that tokens survive a restart of the proxy. A token stays valid for the bucket it
was issued in and the next one: between one and two hours.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

SECRET_FILE = "help-secret"
SECRET_BYTES = 32
BUCKET_S = 3600


class SecretError(OSError):
    """The secret file exists but cannot be used, with its path in the message."""


def load_secret(path: Path, attempts: int = 50) -> bytes:
    """Read the secret at ``path``, creating it (mode 0600, atomically) if it does not exist yet."""
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
    raise SecretError(f"the help-form secret {path} is shorter than {SECRET_BYTES} bytes")


class HelpTokens:
    """Issues and checks the form token of one device."""

    def __init__(self, secret: bytes, bucket_s: int = BUCKET_S) -> None:
        if len(secret) < SECRET_BYTES:
            raise ValueError(f"the secret must be at least {SECRET_BYTES} bytes, not {len(secret)}")
        self._secret = secret
        self.bucket_s = bucket_s

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> HelpTokens:
        return cls(load_secret(data_dir / SECRET_FILE))

    def _mac(self, device: str, bucket: int) -> str:
        return hmac.new(self._secret, f"{device}\x00{bucket}".encode(), hashlib.sha256).hexdigest()

    def issue(self, device: str, now: float | None = None) -> str:
        bucket = int((time.time() if now is None else now) // self.bucket_s)
        return f"{bucket}.{self._mac(device, bucket)}"

    def verify(self, token: str, device: str, now: float | None = None) -> bool:
        """True when ``token`` was issued to ``device`` in this time bucket or the previous one."""
        bucket_text, _, mac = token.partition(".")
        if not bucket_text.isdigit() or len(bucket_text) > 12:
            return False
        bucket = int(bucket_text)
        current = int((time.time() if now is None else now) // self.bucket_s)
        if bucket not in (current, current - 1):
            return False
        return hmac.compare_digest(mac, self._mac(device, bucket))
