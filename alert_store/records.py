"""Records that cross package lines: what the addon writes and the dashboard reads."""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES = ("scam", "grooming", "help")
SEVERITIES = ("low", "medium", "high")
DIRECTIONS = ("incoming", "outgoing")
SOURCES = ("model", "child")
SNIPPET_MAX_CHARS = 500
CHOICES = ("went_back", "continued", "told_parent")


# Clients allowed to use the proxy unless the parent narrows it: loopback, RFC 1918 private ranges,
# carrier-grade NAT (mitmproxy's WireGuard and Tailscale-style VPNs), link-local, unique local IPv6.
DEFAULT_ALLOWED_CLIENTS: tuple[str, ...] = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fe80::/10",
    "fc00::/7",
)


class SettingKey:
    """Keys of the settings a parent changes in the dashboard (stored in the database, read by the proxy;
    they override config.toml at run time). One list, so that writer and reader cannot drift apart."""

    MODE = "proxy.mode"  # "monitor" | "warn" | "block"
    ALLOWED_CLIENTS = "proxy.allowed_clients"  # list of CIDR strings
    IGNORE_HOSTS = "proxy.ignore_hosts"  # list of host names, "*." wildcards allowed
    THRESHOLD_SCAM = "thresholds.scam"  # 0.05-0.99 overriding the model's own threshold; None: the model's
    THRESHOLD_GROOMING = "thresholds.grooming"
    RETENTION_DAYS = "retention.days"  # int
    PROXY_STATUS = "status.proxy"  # written by the proxy: {"scoring": "on"|"off", "reason", "mode", ...}
    HELPLINE = "help.helpline"  # the child helpline shown on the help page

    @staticmethod
    def threshold(risk: str) -> str:
        return f"thresholds.{risk}"


@dataclass(frozen=True)
class Alert:
    """One alert. ``id`` and ``created_at`` are set by the store when left at their defaults.

    ``url`` holds scheme, host and path only: the store drops any query string or fragment, which often
    carries tokens. ``snippet`` is at most 500 characters of evidence, never a whole page. ``source`` is
    ``"child"`` for alerts a child raised through the help page, whose own words go in ``child_note``.
    """

    child: str
    category: str
    severity: str
    probability: float
    snippet: str
    device: str = ""
    direction: str = "incoming"
    url: str = ""
    title: str = ""
    app: str = ""
    terms: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    model_version: str = ""
    source: str = "model"
    child_note: str = ""
    conversation_key: str = ""
    reviewed: bool = False
    false_positive: bool = False
    created_at: float = 0.0
    id: int | None = None


@dataclass(frozen=True)
class AlertFilter:
    """Criteria for listing alerts; ``None`` means "any".

    Times are Unix epoch seconds; ``until`` is exclusive.
    """

    child: str | None = None
    category: str | None = None
    severity: str | None = None
    reviewed: bool | None = None
    false_positive: bool | None = None
    source: str | None = None
    since: float | None = None
    until: float | None = None
    # Unreviewed child-raised help alerts are pinned above every list: True selects only them,
    # False leaves them out (so the list below the pinned ones pages exactly).
    pinned: bool | None = None


@dataclass(frozen=True)
class ChatTurn:
    """One message of a conversation window, as the grooming scorer sees it."""

    sender: str
    text: str
    direction: str = "incoming"
    created_at: float = 0.0


@dataclass(frozen=True)
class DayCount:
    day: str  # ISO date, UTC
    child: str
    category: str
    count: int


@dataclass(frozen=True)
class Device:
    device: str
    child: str | None
    first_seen: float
    last_seen: float
    address: str = ""
    label: str = ""


@dataclass(frozen=True)
class BlindSpot:
    """Something the proxy could not see: a refused TLS handshake or a DNS-over-HTTPS attempt."""

    kind: str  # "tls_failed" or "doh"
    host: str
    device: str
    count: int
    first_seen: float
    last_seen: float


@dataclass(frozen=True)
class FeedbackItem:
    """A parent's verdict on an alert, kept for retraining in the scoring contract's training format."""

    id: int
    alert_id: int | None
    created_at: float
    label: str
    category: str
    kind: str
    text: str
    lang: str = ""


@dataclass(frozen=True)
class PurgeResult:
    alerts: int = 0
    conversation_messages: int = 0
    feedback: int = 0
    blind_spots: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.alerts + self.conversation_messages + self.feedback + self.blind_spots


@dataclass(frozen=True)
class Suppression:
    """A parent's "False alarm": no more alerts for ``child`` on this ``site`` or in this ``conversation``."""

    child: str
    kind: str  # "site" | "conversation"
    value: str
