"""Notifications for parents, one per incident: high-severity incidents and child-raised help at once (and
once more if a told incident gets worse), the rest in a daily or weekly digest with each child's week by
kind, by e-mail (SMTP) and/or a JSON webhook. Reads the alert store and sends; knows nothing of Flask.

What was sent is remembered per channel in the store's settings (``notify.sent.email``,
``notify.sent.webhook``), so a restart neither repeats nor skips a message, and a channel that failed
retries on the next run without repeating what the other channel already delivered.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import socket
import ssl
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from alert_store import SEVERITIES, Alert, AlertStore, Incident, IncidentFilter
from alert_store.kinds import more_serious
from alert_store.store import strip_query
from parent_ui.guidance import KIND_NAMES

log = logging.getLogger("notalone.notify")

EMAIL_KEY = "notify.email"
PASSWORD_KEY = "notify.smtp_password"
WEBHOOK_KEY = "notify.webhook"
DIGEST_KEY = "notify.digest"
# {"incidents": {"<id>": {"severity", "kind", "at"}}, "last_digest_at": float | None, "since": float}
SENT_KEY = "notify.sent.{channel}"

DAY_S = 86_400.0
TIMEOUT_S = 10.0
DIGEST_PERIODS_S = {"daily": DAY_S, "weekly": 7 * DAY_S}
FIRST_WINDOW_S = DAY_S  # a newly configured channel gets the last day's urgent alerts, not the whole history
CATCH_UP_WINDOW_S = 7 * DAY_S  # after a long stop, urgent alerts up to a week old are still sent
# The addon may write an alert a few minutes after its created_at (it retries a locked database), so a
# digest covers alerts up to this long ago and leaves the newest for the next one.
DIGEST_SETTLE_S = 600.0
_RANK = {"low": 1, "medium": 2, "high": 3}
MAX_ALERTS_PER_RUN = 20  # per channel; the rest follow on the next run, oldest first
DIGEST_LIST_MAX = 50
SNIPPET_MAX = 500
PAGE = 500

_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


class NotifyError(Exception):
    """A channel could not deliver a message: ``reason`` in plain words, ``kind`` names the failure."""

    def __init__(self, channel: str, reason: str, kind: str) -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class Message:
    """One notification: a subject and a plain-text body (e-mail), and the JSON body a webhook receives."""

    subject: str
    text: str
    payload: dict[str, Any]


class Channel(Protocol):
    name: str

    def deliver(self, message: Message) -> None:
        """Send ``message`` or raise :class:`NotifyError`."""


@dataclass(frozen=True)
class EmailChannel:
    """Plain-text e-mail through the parent's SMTP server: STARTTLS when set (TLS from the start on port
    465), login when a user name is set."""

    to: str
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout_s: float = TIMEOUT_S
    name: ClassVar[str] = "email"

    def deliver(self, message: Message) -> None:
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.user if "@" in self.user else self.to
        email["To"] = self.to
        email["Date"] = formatdate(localtime=True)
        email["Message-ID"] = make_msgid(domain="notalone.home.arpa")
        email.set_content(message.text)  # text/plain; charset=utf-8, the only part
        try:
            if self.port == 465:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with smtp:
                if self.starttls and self.port != 465:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(self.name, _smtp_reason(exc, self), type(exc).__name__) from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook answering with a redirect is an error: following it would re-send the alert elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST to an http(s) address; environment proxies are not used (the home network's own proxy
    may be NotAlone itself)."""

    url: str
    timeout_s: float = TIMEOUT_S
    name: ClassVar[str] = "webhook"

    def deliver(self, message: Message) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotifyError(self.name, f"{self.url!r} is not an http:// or https:// address", "BadURL")
        request = urllib.request.Request(
            self.url,
            data=json.dumps(message.payload, ensure_ascii=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "NotAlone"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                response.read(65_536)
        except urllib.error.HTTPError as exc:
            raise NotifyError(self.name, f"the webhook answered HTTP {exc.code}", f"HTTP{exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise NotifyError(
                self.name,
                _network_reason(cause, "the webhook", parts.netloc, self.timeout_s),
                type(cause).__name__,
            ) from exc


def _network_reason(exc: object, what: str, where: str, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{what} at {where} did not answer within {timeout_s:g} seconds"
    if isinstance(exc, ConnectionRefusedError):
        return f"{what} at {where} refused the connection"
    if isinstance(exc, socket.gaierror):
        return f"the name of {what} ({where}) could not be found"
    if isinstance(exc, ssl.SSLError):
        return f"the secure connection to {what} at {where} failed ({exc.reason or exc})"
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"could not reach {what} at {where} ({detail})"


def _smtp_reason(exc: BaseException, channel: EmailChannel) -> str:
    where = f"{channel.host}:{channel.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the mail server refused the user name or password"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the mail server refused the address {channel.to}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "the mail server refused the sender address"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc):
            return "the mail server does not offer STARTTLS (a secure connection)"
        if "AUTH" in str(exc):
            return "the mail server does not accept a login on this connection"
        return f"the mail server does not support this ({clean_text(str(exc), 200).rstrip('.')})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the mail server at {where} closed the connection"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return f"the mail server answered {exc.smtp_code} {clean_text(text, 200)}"
    return _network_reason(exc, "the mail server", where, channel.timeout_s)


def channels_from_settings(settings: Mapping[str, Any]) -> list[Channel]:
    """The channels the parent configured on the Settings page (none when nothing is filled in)."""
    channels: list[Channel] = []
    email = settings.get(EMAIL_KEY) or {}
    if email.get("to") and email.get("smtp_host"):
        channels.append(
            EmailChannel(
                to=email["to"],
                host=email["smtp_host"],
                port=int(email.get("smtp_port") or 587),
                user=email.get("smtp_user", ""),
                password=settings.get(PASSWORD_KEY) or "",
                starttls=bool(email.get("starttls", True)),
            )
        )
    if webhook := settings.get(WEBHOOK_KEY):
        channels.append(WebhookChannel(webhook))
    return channels


# -- text -------------------------------------------------------------------------------------------------
def clean_text(text: str, limit: int = SNIPPET_MAX) -> str:
    """``text`` as one plain line: control and bidi-override characters removed, whitespace collapsed,
    at most ``limit`` characters."""
    kept = "".join(
        " " if ch in "\t\n\r\v\f" else ch
        for ch in text.translate(_BIDI_CONTROLS)
        if ch in "\t\n\r\v\f" or unicodedata.category(ch) != "Cc"
    )
    kept = re.sub(r"\s+", " ", kept).strip()
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def is_urgent(alert: Alert | Incident) -> bool:
    """High-severity incidents and every child-raised help request are sent at once."""
    return alert.severity == "high" or alert.category == "help" or alert.source == "child"


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M %z", time.localtime(ts))


def incident_link(incident: Incident, dashboard_url: str) -> str:
    if not (dashboard_url and incident.last_alert_id):
        return ""
    return f"{dashboard_url.rstrip('/')}/alerts/{incident.last_alert_id}"


def who(incident: Incident, devices: Mapping[str, str] | None = None) -> str:
    """The child, or the device not yet assigned to one (never a placeholder name)."""
    if incident.child:
        return incident.child
    name = (devices or {}).get(incident.device) or incident.device or "unknown"
    return f"a device not yet assigned: {name}"


def incident_fields(
    incident: Incident,
    alerts: Sequence[Alert],
    dashboard_url: str = "",
    devices: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What a parent is told about one incident, every text cleaned (the snippet came through the proxy)."""
    newest = alerts[-1] if alerts else None
    return {
        "id": incident.id,
        "child": clean_text(who(incident, devices), 160),
        "category": incident.category,
        "kind": incident.kind,
        "severity": "high" if is_urgent(incident) else incident.severity,
        "time": _when(incident.first_seen),
        "created_at": incident.first_seen,
        "last_seen": incident.last_seen,
        "detections": incident.detections,
        "url": clean_text(strip_query(incident.url), 500),
        "app": clean_text(incident.app, 100),
        "counterpart": clean_text(incident.counterpart, 100),
        "snippet": clean_text(newest.snippet) if newest else "",
        "stages": [clean_text(s, 50) for s in dict.fromkeys(st for a in alerts for st in a.stages)],
        "child_words": clean_text(incident.child_note, 1000) if incident.category == "help" else "",
        "link": incident_link(incident, dashboard_url),
    }


def _incident_lines(f: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Child: {f['child']}",
        f"Category: {f['category']}",
        f"Kind: {KIND_NAMES.get(f['kind'], f['kind'])}",
        f"Severity: {f['severity']}",
        f"Time: {f['time']}",
    ]
    if f["detections"] > 1:
        lines.append(f"Detections: {f['detections']} (last {_when(f['last_seen'])})")
    if f["url"]:
        lines.append(f"Address: {f['url']}")
    if f["app"]:
        lines.append(f"App: {f['app']}")
    if f["counterpart"]:
        lines.append(f"The other person: {f['counterpart']}")
    if f["stages"]:
        lines.append("Grooming stages: " + ", ".join(f["stages"]))
    if f["child_words"]:
        lines.append(f"Your child's words: {f['child_words']}")
    if f["snippet"]:
        lines.append(f"Evidence: {f['snippet']}")
    if f["link"]:
        lines.append(f"Open in the dashboard: {f['link']}")
    return lines


def incident_message(f: Mapping[str, Any], *, escalated_from: str = "") -> Message:
    """The message for one urgent incident, or for one that escalated since the parent was told."""
    kind = KIND_NAMES.get(f["kind"], f["category"]).lower()
    if f["category"] == "help":
        subject = f"NotAlone: {f['child']} asked for your help"
        intro = f'{f["child"]} pressed "Tell my parent". Please talk with them calmly and soon.'
    elif escalated_from:
        subject = f"NotAlone: {kind} alert for {f['child']} escalated to {f['severity']}"
        intro = f"An incident you were told about got worse (it was {escalated_from})."
    else:
        subject = f"NotAlone: {f['severity']} {f['category']} alert for {f['child']}"
        intro = f"NotAlone found a possible {kind} risk for {f['child']}."
    text = "\n".join([intro, "", *_incident_lines(f), ""])
    payload_type = "escalation" if escalated_from else "alert"
    return Message(subject, text, {"type": payload_type, "text": text, "alert": dict(f)})


def weekly_summary(store: AlertStore, now: float) -> dict[str, dict[str, list[int]]]:
    """Per child, per kind: incidents seen first in the last seven days and in the seven before."""
    summary: dict[str, dict[str, list[int]]] = {}
    for c in store.incident_counts_by_day(now - 14 * DAY_S, now):
        this_week = c.day >= time.strftime("%Y-%m-%d", time.gmtime(now - 7 * DAY_S))
        counts = summary.setdefault(c.child, {}).setdefault(c.kind, [0, 0])
        counts[0 if this_week else 1] += c.count
    return summary


def _summary_lines(summary: Mapping[str, Mapping[str, Sequence[int]]]) -> list[str]:
    if not summary:
        return ["This week: no incidents."]
    lines = ["This week, per child (the week before in brackets):"]
    for child in sorted(summary):
        name = child or "devices not yet assigned"
        parts = []
        for kind, (now_n, before_n) in sorted(summary[child].items()):
            trend = "up" if now_n > before_n else "down" if now_n < before_n else "same"
            parts.append(f"{KIND_NAMES.get(kind, kind)} {now_n} ({before_n}, {trend})")
        lines.append(f"  {name}: " + "; ".join(parts))
    return lines


def digest_message(
    items: Sequence[Mapping[str, Any]],
    total: int,
    period: str,
    dashboard_url: str = "",
    summary: Mapping[str, Mapping[str, Sequence[int]]] | None = None,
) -> Message:
    """A summary of ``total`` lower-severity incidents (the newest listed) and each child's week."""
    counts: dict[str, int] = {}
    for item in items:
        key = f"{item['child']} / {KIND_NAMES.get(item['kind'], item['kind'])} / {item['severity']}"
        counts[key] = counts.get(key, 0) + 1
    noun = "incident" if total == 1 else "incidents"
    subject = f"NotAlone {period} summary: {total} {noun}"
    lines = [f"{total} lower-severity {noun} since the last summary.", ""]
    lines += [f"  {key}: {n}" for key, n in sorted(counts.items())]
    lines += ["", *_summary_lines(summary or {})]
    for item in items:
        lines += ["", *_incident_lines(item)]
    if total > len(items):
        lines += ["", f"{total - len(items)} older incidents are not listed here."]
    if dashboard_url:
        lines += ["", f"All alerts: {dashboard_url.rstrip('/')}/alerts/"]
    text = "\n".join([*lines, ""])
    payload = {"type": "digest", "text": text, "total": total, "alerts": list(items), "week": summary or {}}
    return Message(subject, text, payload)


def trial_message(dashboard_url: str = "") -> Message:
    text = "This is a test notification from NotAlone. Alerts will arrive like this."
    if dashboard_url:
        text += f"\nDashboard: {dashboard_url}"
    return Message("NotAlone: test notification", text + "\n", {"type": "test", "text": text})


# -- sending ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotifyResult:
    """What one run did: messages delivered and failed (counted per channel), and why each failure."""

    sent: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()


@dataclass
class _Mark:
    """What a channel has been told: per incident the severity and kind it was told about (kept within the
    catch-up window), and the end of the last digest's window."""

    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_digest_at: float | None = None
    since: float = 0.0  # when the channel was first seen, less FIRST_WINDOW_S: nothing older is sent

    @classmethod
    def load(cls, settings: Mapping[str, Any], channel: str, now: float) -> _Mark:
        raw = settings.get(SENT_KEY.format(channel=channel))
        if not isinstance(raw, dict):
            return cls(since=now - FIRST_WINDOW_S)
        if "incidents" not in raw:  # written before incidents: start afresh rather than send them again
            return cls(last_digest_at=raw.get("last_digest_at"), since=now)
        return cls(
            {str(k): dict(v) for k, v in (raw.get("incidents") or {}).items() if isinstance(v, dict)},
            raw.get("last_digest_at"),
            float(raw.get("since") or 0.0),
        )

    def told(self, incident: Incident) -> dict[str, Any] | None:
        return self.incidents.get(str(incident.id))

    def remember(self, incident: Incident) -> None:
        self.incidents[str(incident.id)] = {
            "severity": incident.severity,
            "kind": incident.kind,
            "at": incident.last_seen,
        }

    def save(self, store: AlertStore, channel: str) -> None:
        store.set_setting(
            SENT_KEY.format(channel=channel),
            {"incidents": self.incidents, "last_digest_at": self.last_digest_at, "since": self.since},
        )


def _all(store: AlertStore, where: IncidentFilter) -> list[Incident]:
    found: list[Incident] = []
    while page := store.incidents(where, limit=PAGE, offset=len(found)):
        found += page
        if len(page) < PAGE:
            break
    return found


def urgent_incidents(store: AlertStore, since: float) -> list[Incident]:
    """High and help incidents active since ``since``, oldest first."""
    by_id = {
        i.id: i
        for where in (
            IncidentFilter(since=since, severity="high"),
            IncidentFilter(since=since, category="help"),
        )
        for i in _all(store, where)
    }
    return sorted(by_id.values(), key=lambda i: (i.first_seen, i.id))


def escalated_from(incident: Incident, told: Mapping[str, Any]) -> str:
    """What the incident was when the parent was told, if it is worse now ("" when it is not)."""
    before_severity, before_kind = str(told.get("severity", "")), str(told.get("kind", ""))
    worse_severity = _RANK.get(incident.severity, 0) > _RANK.get(before_severity, 0)
    worse_kind = incident.kind != before_kind and more_serious(incident.kind, before_kind) == incident.kind
    if not (worse_severity or worse_kind):
        return ""
    return f"{before_severity}, {KIND_NAMES.get(before_kind, before_kind)}"


class Notifier:
    """Sends what is pending. Keep one for the life of a process: it logs each kind of failure once until
    that channel works again."""

    def __init__(
        self,
        dashboard_url: str = "",
        *,
        channels: Callable[[Mapping[str, Any]], Iterable[Channel]] = channels_from_settings,
    ) -> None:
        self.dashboard_url = dashboard_url
        self._channels = channels
        self._logged: set[tuple[str, str]] = set()

    def run(self, store: AlertStore, now: float | None = None) -> NotifyResult:
        """Send urgent alerts not yet sent and, when due, the digest, on every configured channel."""
        now = time.time() if now is None else now
        settings = store.settings()
        sent = failed = 0
        errors: list[str] = []
        for channel in self._channels(settings):
            mark = _Mark.load(settings, channel.name, now)
            try:
                sent += self._send_urgent(store, channel, mark, now)
                sent += self._send_digest(store, channel, mark, str(settings.get(DIGEST_KEY, "daily")), now)
            except NotifyError as exc:
                failed += 1
                errors.append(str(exc))
                self._failed(store, exc)
            else:
                self._logged = {k for k in self._logged if k[0] != channel.name}
            finally:
                mark.save(store, channel.name)
        return NotifyResult(sent, failed, tuple(errors))

    def send_test(self, store: AlertStore) -> list[tuple[str, str | None]]:
        """Send a test message on each configured channel: ``(channel, None)`` or ``(channel, reason)``."""
        outcomes: list[tuple[str, str | None]] = []
        for channel in self._channels(store.settings()):
            try:
                channel.deliver(trial_message(self.dashboard_url))
            except NotifyError as exc:
                outcomes.append((channel.name, exc.reason))
            else:
                outcomes.append((channel.name, None))
        return outcomes

    def _send_urgent(self, store: AlertStore, channel: Channel, mark: _Mark, now: float) -> int:
        """One message per urgent incident, and one more each time a told incident gets worse."""
        since = max(mark.since, now - CATCH_UP_WINDOW_S)
        mark.incidents = {k: v for k, v in mark.incidents.items() if float(v.get("at", 0)) >= since}
        devices = {d.device: d.label or d.device for d in store.devices()}
        pending = []
        for incident in urgent_incidents(store, since):
            told = mark.told(incident)
            if told is None:
                pending.append((incident, ""))
            elif worse := escalated_from(incident, told):
                pending.append((incident, worse))
        sent = 0
        for incident, worse in pending[:MAX_ALERTS_PER_RUN]:
            if not (incident.reviewed or incident.false_positive):  # the parent has already seen it
                fields = incident_fields(
                    incident, store.incident_alerts(incident.id), self.dashboard_url, devices
                )
                channel.deliver(incident_message(fields, escalated_from=worse))  # a failure stops here
                sent += 1
            mark.remember(incident)
            mark.save(store, channel.name)  # at once: a crash after this must not send it again
        return sent

    def _send_digest(self, store: AlertStore, channel: Channel, mark: _Mark, period: str, now: float) -> int:
        until = now - DIGEST_SETTLE_S
        if period not in DIGEST_PERIODS_S:  # "off": start afresh if it is turned on again
            mark.last_digest_at = None
            return 0
        if mark.last_digest_at is None:
            mark.last_digest_at = until
            return 0
        if until - mark.last_digest_at < DIGEST_PERIODS_S[period]:
            return 0
        lower = [s for s in SEVERITIES if s != "high"]
        wheres = [IncidentFilter(since=mark.last_digest_at, until=until, severity=s) for s in lower]
        total = sum(store.count_incidents(w) for w in wheres)
        listed = [i for w in wheres for i in store.incidents(w, limit=DIGEST_LIST_MAX) if not is_urgent(i)]
        listed = sorted(listed, key=lambda i: i.last_seen, reverse=True)[:DIGEST_LIST_MAX]
        if listed:
            devices = {d.device: d.label or d.device for d in store.devices()}
            items = [
                incident_fields(i, store.incident_alerts(i.id), self.dashboard_url, devices) for i in listed
            ]
            channel.deliver(
                digest_message(items, total, period, self.dashboard_url, weekly_summary(store, now))
            )
            for incident in listed:  # told at this severity: a later rise is an escalation
                if mark.told(incident) is None:
                    mark.remember(incident)
        mark.last_digest_at = until
        return 1 if listed else 0

    def _failed(self, store: AlertStore, exc: NotifyError) -> None:
        store.increment(f"notify.errors.{exc.channel}")
        key = (exc.channel, exc.kind)
        if key in self._logged:
            log.debug("notification failed again", extra={"channel": exc.channel, "reason": exc.reason})
            return
        self._logged.add(key)
        log.warning("notification failed; will retry", extra={"channel": exc.channel, "reason": exc.reason})


def send_pending(store: AlertStore, now: float | None = None, *, dashboard_url: str = "") -> NotifyResult:
    """One run of a fresh :class:`Notifier` (a long-running process keeps its own, to log failures once)."""
    return Notifier(dashboard_url).run(store, now)
