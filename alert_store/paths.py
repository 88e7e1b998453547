"""Where NotAlone keeps its state: the database, the mitmproxy CA (confdir) and config.toml."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "NOTALONE_DATA_DIR"


def default_data_dir() -> Path:
    """``$NOTALONE_DATA_DIR``, else ``$XDG_DATA_HOME/notalone``, else ``~/.local/share/notalone``."""
    if env := os.environ.get(DATA_DIR_ENV):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "notalone"


@dataclass(frozen=True)
class DataDir:
    """The layout of one data directory. ``ensure()`` creates it private to the user (mode 0700)."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "notalone.db"

    @property
    def confdir(self) -> Path:
        """mitmproxy's confdir: holds the CA; its private key must stay readable by us alone."""
        return self.root / "mitmproxy"

    @property
    def ca_cert(self) -> Path:
        """The public CA certificate that children's devices trust (never the key)."""
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    def ensure(self) -> DataDir:
        for path in (self.root, self.confdir):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)
        return self
