"""Records that cross package lines: what the addon writes and the dashboard reads."""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES = ("scam", "grooming", "help")
SEVERITIES = ("low", "medium", "high")
DIRECTIONS = ("incoming", "outgoing")
SOURCES = ("model", "child")
SNIPPET_MAX_CHARS = 500
# The child name the proxy gives a device nobody has assigned yet (proxy_addon.identity.DEFAULT_CHILD). The
# store keeps such incidents with child "" so that assigning the device fills them in; a parent never sees it.
UNASSIGNED_CHILD = "unassigned"
CHOICES = ("went_back", "continued", "told_parent")
# What the proxy does with a likely scam page: monitor (only tell the parent), warn (a warning the child
# can pass), block (a warning without "continue"). Written once, here: the config, the dashboard's Settings
# page, the proxy's options and the command line all take it from this tuple.
MODES = ("monitor", "warn", "block")


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

    # written by `notalone up` (notalone/commands/up.py): {"proxy": "192.168.1.20:8080" (what devices use),
    # "proxy_local": "127.0.0.1:8080", "dashboard": "http://192.168.1.20:8000/", "updated_at",
    # "parts": {"proxy": {"running": bool, "reason": "one sentence: what is wrong and what to do"}}}
    UP_STATUS = "status.up"
    MODE = "proxy.mode"  # "monitor" | "warn" | "block"
    ALLOWED_CLIENTS = "proxy.allowed_clients"  # list of CIDR strings
    IGNORE_HOSTS = "proxy.ignore_hosts"  # list of host names, "*." wildcards allowed
    THRESHOLD_SCAM = "thresholds.scam"  # 0.05-0.99 overriding the model's own threshold; None: the model's
    THRESHOLD_GROOMING = "thresholds.grooming"
    RETENTION_DAYS = "retention.days"  # int
    PROXY_STATUS = "status.proxy"  # written by the proxy: {"scoring": "on"|"off", "reason", "mode", ...}
    HELPLINE = "help.helpline"  # the child helpline shown on the help page (up writes the country's)
    COUNTRY = "help.country"  # the parent's country: a code of alert_store.helplines.COUNTRIES, or "other"
    CHILD_LINE = "help.child_line"  # for "other": the child helpline the parent typed
    EMERGENCY = "help.emergency"  # for "other": the emergency number the parent typed

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
    # The decision's kind (alert_store.kinds.KINDS); "" lets the store derive one from category and terms.
    kind: str = ""
    # The other person in a conversation (name or handle) as the proxy saw it; "" lets the store take the
    # sender of the conversation's latest incoming turn.
    counterpart: str = ""
    incident_id: int | None = None  # set by the store: the incident this alert opened or joined


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
class Incident:
    """One risky page visit, or one conversation with one counterpart, however many alerts folded into it.

    ``child`` is "" while the device is not yet assigned to a child (assigning it fills it in).
    ``severity`` and ``kind`` are the most serious seen so far; ``detections`` counts the folded alerts.
    """

    id: int
    category: str
    kind: str
    severity: str
    child: str
    device: str
    first_seen: float
    last_seen: float
    detections: int
    url: str = ""
    title: str = ""
    app: str = ""
    conversation_key: str = ""
    counterpart: str = ""
    source: str = "model"
    child_note: str = ""
    reviewed: bool = False
    false_positive: bool = False
    last_alert_id: int | None = None  # the newest detection: the dashboard's address for the incident

    @property
    def is_conversation(self) -> bool:
        return bool(self.conversation_key)


@dataclass(frozen=True)
class IncidentFilter:
    """Criteria for listing incidents; ``None`` means "any". ``child=""`` selects devices not yet assigned.

    ``since``/``until`` bound ``last_seen`` (Unix seconds, ``until`` exclusive). ``pinned``: True selects only
    unreviewed help requests (pinned above the list), False leaves them out.
    """

    child: str | None = None
    category: str | None = None
    kind: str | None = None
    severity: str | None = None
    reviewed: bool | None = None
    false_positive: bool | None = None
    device: str | None = None
    since: float | None = None
    until: float | None = None
    pinned: bool | None = None


@dataclass(frozen=True)
class Choice:
    """What a child chose on a warning page, and when."""

    id: int
    created_at: float
    choice: str
    child: str = ""
    device: str = ""
    url: str = ""
    alert_id: int | None = None


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
class KindCount:
    day: str  # ISO date, UTC
    child: str  # "" for a device not yet assigned
    category: str
    kind: str
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
