"""Notifications against real local servers: an SMTP sink and an HTTP webhook, both on loopback ports."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from dashboard_helpers import csrf_from, make_alert

from alert_store import AlertStore, DataDir
from notalone.cli import main
from parent_ui.notifications import DAY_S, DIGEST_SETTLE_S, Notifier, clean_text, send_pending

DASHBOARD = "http://192.168.1.10:8000/"


# -- the local servers -------------------------------------------------------------------------------------
class SMTPSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to receive messages."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SMTPHandler)
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self.reject_rcpt = False

    @property
    def port(self) -> int:
        return self.server_address[1]


class SMTPHandler(socketserver.StreamRequestHandler):
    timeout = 10
    server: SMTPSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        data: list[bytes] | None = None
        while line := self.rfile.readline(65_536):
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    message = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                    self.server.messages.append(message)  # type: ignore[arg-type]
                    data = None
                    self.reply("250 queued")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                self.reply("250-sink")
                self.reply("250-AUTH PLAIN")
                self.reply("250 8BITMIME")
            elif verb == b"AUTH":
                self.server.logins.append(base64.b64decode(line.split()[2]).decode())
                self.reply("235 ok")
            elif verb == b"RCPT" and self.server.reject_rcpt:
                self.reply("550 no such user")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 ok")
            elif verb == b"DATA":
                data = []
                self.reply("354 go on")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), WebhookHandler)
        self.posts: list[dict[str, Any]] = []
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["Content-Type"].startswith("application/json")
        self.server.posts.append(json.loads(body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server: socketserver.BaseServer) -> Iterator[Any]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    yield from _serve(SMTPSink())


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    yield from _serve(WebhookServer())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def email_settings(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "to": "parent@home.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_user": "",
        "starttls": False,
        **overrides,
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    with AlertStore(DataDir(tmp_path / "data").ensure().database) as s:
        yield s


@pytest.fixture
def both(store: AlertStore, smtp: SMTPSink, webhook: WebhookServer) -> AlertStore:
    """A store with e-mail and webhook configured."""
    store.set_setting("notify.email", email_settings(smtp.port))
    store.set_setting("notify.webhook", webhook.url)
    store.set_setting("notify.digest", "daily")
    return store


def body(message: EmailMessage) -> str:
    assert not message.is_multipart()
    assert message.get_content_type() == "text/plain"
    return message.get_content().replace("\r\n", "\n")


# -- urgent alerts ---------------------------------------------------------------------------------------
def test_a_high_alert_is_emailed_and_posted_once(both, smtp, webhook) -> None:
    now = time.time()
    alert_id = both.add(make_alert(severity="high", stages=("trust", "secrecy"), created_at=now - 30))

    result = Notifier(DASHBOARD).run(both, now)

    assert (result.sent, result.failed) == (2, 0)
    assert len(smtp.messages) == 1 and len(webhook.posts) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "parent@home.example"
    assert mail["Subject"] == "NotAlone: high scam alert for An"
    text = body(mail)
    for expected in (
        "Child: An",
        "Category: scam",
        "Severity: high",
        "Grooming stages: trust, secrecy",
        "Address: https://scam.example/claim",
        "Evidence: Claim your free Robux now",
        f"Open in the dashboard: http://192.168.1.10:8000/alerts/{alert_id}",
    ):
        assert expected in text
    assert "token=secret" not in text
    post = webhook.posts[0]
    assert post["type"] == "alert" and post["text"] == text
    assert post["alert"]["id"] == alert_id and post["alert"]["url"] == "https://scam.example/claim"

    again = Notifier(DASHBOARD).run(both, now + 60)  # a new process: only the store remembers
    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp.messages) == 1 and len(webhook.posts) == 1


def test_email_logs_in_when_a_user_is_set(store, smtp) -> None:
    store.set_setting("notify.email", email_settings(smtp.port, smtp_user="parent@home.example"))
    store.set_setting("notify.smtp_password", "s3cret")
    store.add(make_alert(severity="high"))
    assert send_pending(store).sent == 1
    assert smtp.logins == ["\0parent@home.example\0s3cret"]
    assert smtp.messages[0]["From"] == "parent@home.example"


def test_help_alerts_are_sent_at_once_with_the_childs_words(both, smtp, webhook) -> None:
    now = time.time()
    words = "a man in the game says I must keep our chats secret"
    # A help alert is urgent even if it were stored with a lower severity.
    both.add(
        make_alert(
            category="help",
            severity="medium",
            source="child",
            probability=1.0,
            snippet="",
            child_note=words,
            child="Binh",
            created_at=now - 5,
        )
    )

    assert send_pending(both, now).sent == 2

    mail = smtp.messages[0]
    assert mail["Subject"] == "NotAlone: Binh asked for your help"
    assert f"Your child's words: {words}" in body(mail)
    assert "Severity: high" in body(mail)
    assert webhook.posts[0]["alert"]["child_words"] == words


def test_untrusted_text_arrives_as_plain_text(both, smtp, webhook) -> None:
    snippet = "<script>alert(1)</script>\x1b[31m red\x07 <img src=x onerror=alert(2)>\u202egnp.exe\x00 end"
    both.add(make_alert(severity="high", snippet=snippet, child="An\r\nBcc: evil@example.com"))

    send_pending(both)

    text = body(smtp.messages[0])
    assert "<script>alert(1)</script>" in text  # shown as the characters it is, in a text/plain message
    assert "<img src=x onerror=alert(2)>" in text
    for control in ("\x1b", "\x07", "\x00", "\u202e", "\r\nBcc"):
        assert control not in text
    assert smtp.messages[0]["Bcc"] is None
    expected = clean_text(snippet)
    assert webhook.posts[0]["alert"]["snippet"] == expected
    assert expected == "<script>alert(1)</script>[31m red <img src=x onerror=alert(2)>gnp.exe end"


def test_the_snippet_is_cut_to_500_characters() -> None:
    assert len(clean_text("x" * 2000)) == 500


def test_one_message_per_incident_however_many_detections(both, smtp, webhook) -> None:
    now = time.time()
    for i in range(6):  # two grooming chats detected again and again
        for chat in ("7", "8"):
            both.add(
                make_alert(
                    category="grooming",
                    kind="grooming",
                    severity="high",
                    url="",
                    conversation_key=f"chat.example/conversations/{chat}",
                    child="Binh",
                    created_at=now - 60 + i,
                )
            )
    assert send_pending(both, now).sent == 4  # two incidents, on two channels
    assert send_pending(both, now + 60).sent == 0
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == ["NotAlone: high grooming alert for Binh"] * 2
    assert "Detections: 6" in body(smtp.messages[0])


def test_one_more_message_when_an_incident_escalates(both, smtp, webhook) -> None:
    now = time.time()
    chat = dict(category="grooming", kind="grooming", url="", conversation_key="chat.example/dm/9")
    both.add(make_alert(**chat, severity="medium", created_at=now - 3 * 3600))
    send_pending(both, now - 3 * 3600)  # medium: waits for the digest
    later = now + DAY_S + DIGEST_SETTLE_S + 1
    assert send_pending(both, later).sent == 2  # the digest tells the parent about it
    both.add(make_alert(**chat, severity="medium", created_at=later))
    assert send_pending(both, later + 1).sent == 0  # seen again, no worse
    both.add(
        make_alert(
            category="scam",
            kind="online_kidnapping",
            severity="high",
            url="",
            conversation_key="chat.example/dm/9",
            terms=("hotel",),
            created_at=later + 2,
        )
    )
    assert send_pending(both, later + 3).sent == 2
    assert smtp.messages[-1]["Subject"] == "NotAlone: online kidnapping alert for An escalated to high"
    assert "it was medium, Grooming" in body(smtp.messages[-1])
    assert webhook.posts[-1]["type"] == "escalation"
    both.add(make_alert(**chat, severity="high", created_at=later + 4))
    assert send_pending(both, later + 5).sent == 0  # already told at high


# -- the digest --------------------------------------------------------------------------------------------
def test_a_medium_alert_waits_for_the_digest(both, smtp, webhook) -> None:
    now = time.time()
    both.add(make_alert(severity="medium", created_at=now - 10))
    both.add(make_alert(severity="low", child="Binh", created_at=now - 5))

    assert send_pending(both, now).sent == 0  # not urgent, and the first digest is a day away
    assert smtp.messages == [] and webhook.posts == []

    later = now + DAY_S + DIGEST_SETTLE_S + 1
    result = send_pending(both, later, dashboard_url=DASHBOARD)
    assert result.sent == 2
    digest = body(smtp.messages[0])
    assert smtp.messages[0]["Subject"] == "NotAlone daily summary: 2 incidents"
    assert "Severity: medium" in digest and "Severity: low" in digest and "Child: Binh" in digest
    assert "All alerts: http://192.168.1.10:8000/alerts/" in digest
    assert "This week, per child" in digest and "Binh: Free game currency scam 1 (0, up)" in digest
    assert webhook.posts[0]["type"] == "digest" and webhook.posts[0]["total"] == 2
    assert webhook.posts[0]["week"]["An"]["free_currency"] == [1, 0]

    assert send_pending(both, later + 60).sent == 0  # the next one is due a day later
    assert len(smtp.messages) == 1


def test_no_digest_when_turned_off(both, smtp) -> None:
    now = time.time()
    both.set_setting("notify.digest", "off")
    both.add(make_alert(severity="medium", created_at=now - 10))
    send_pending(both, now)
    assert send_pending(both, now + 8 * DAY_S).sent == 0
    assert smtp.messages == []


# -- failures ----------------------------------------------------------------------------------------------
def test_a_failing_webhook_is_counted_and_retried_without_repeating_the_email(both, smtp, webhook) -> None:
    now = time.time()
    both.add(make_alert(severity="high", created_at=now - 30))
    webhook.status = 500

    first = send_pending(both, now)

    assert (first.sent, first.failed) == (1, 1)
    assert first.errors == ("webhook: the webhook answered HTTP 500",)
    assert both.counters()["notify.errors.webhook"] == 1
    assert len(smtp.messages) == 1 and len(webhook.posts) == 1  # tried once

    webhook.status = 200
    second = send_pending(both, now + 60)

    assert (second.sent, second.failed) == (1, 0)
    assert len(webhook.posts) == 2 and webhook.posts[1]["alert"] == webhook.posts[0]["alert"]
    assert len(smtp.messages) == 1  # the e-mail had gone already
    assert send_pending(both, now + 120).sent == 0


def test_a_refused_smtp_connection_is_counted_logged_once_and_retried(store, smtp, caplog) -> None:
    now = time.time()
    store.set_setting("notify.email", email_settings(closed_port()))
    store.add(make_alert(severity="high", created_at=now - 30))
    notifier = Notifier()

    with caplog.at_level(logging.WARNING, logger="notalone.notify"):
        for minute in range(3):
            result = notifier.run(store, now + 60 * minute)
            assert result.failed == 1 and "refused the connection" in result.errors[0]
    assert store.counters()["notify.errors.email"] == 3
    assert len([r for r in caplog.records if r.name == "notalone.notify"]) == 1

    store.set_setting("notify.email", email_settings(smtp.port))
    assert notifier.run(store, now + 240).sent == 1
    assert len(smtp.messages) == 1


def test_a_refused_recipient_is_explained(store, smtp) -> None:
    smtp.reject_rcpt = True
    store.set_setting("notify.email", email_settings(smtp.port))
    store.add(make_alert(severity="high"))
    assert send_pending(store).errors == ("email: the mail server refused the address parent@home.example",)


# -- the command and the settings page -------------------------------------------------------------------
def test_notalone_notify_once(tmp_path, smtp) -> None:
    root = DataDir(tmp_path / "data").ensure()
    with AlertStore(root.database) as s:
        s.set_setting("notify.email", email_settings(smtp.port))
        s.add(make_alert(severity="high"))
    result = CliRunner().invoke(
        main, ["notify", "--data-dir", str(root.root), "--once", "--dashboard-url", DASHBOARD]
    )
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    assert "http://192.168.1.10:8000/alerts/1" in body(smtp.messages[0])


def _press_test_button(client) -> str:
    token = csrf_from(client.get("/settings/").get_data(as_text=True))
    response = client.post("/settings/test-notification", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_settings_page_sends_a_test_notification(app, client, auth, smtp, webhook) -> None:
    with AlertStore(DataDir(Path(app.config["DATA_DIR"])).database) as s:
        s.set_setting("notify.email", email_settings(smtp.port))
        s.set_setting("notify.webhook", webhook.url)
    auth.login()

    page = _press_test_button(client)

    assert "Test email sent." in page and "Test webhook sent." in page
    assert smtp.messages[0]["Subject"] == "NotAlone: test notification"
    assert webhook.posts[0]["type"] == "test"


def test_settings_page_explains_a_failed_test_in_plain_words(app, client, auth, smtp) -> None:
    port = closed_port()
    with AlertStore(DataDir(Path(app.config["DATA_DIR"])).database) as s:
        s.set_setting("notify.email", email_settings(port))
    auth.login()
    page = _press_test_button(client)
    refused = f"the mail server at 127.0.0.1:{port} refused the connection."
    assert f"The test email could not be sent: {refused}" in page

    with AlertStore(DataDir(Path(app.config["DATA_DIR"])).database) as s:
        s.set_setting("notify.email", email_settings(smtp.port, starttls=True))
    page = _press_test_button(client)
    assert "The test email could not be sent: the mail server does not offer STARTTLS" in page


def test_settings_test_button_needs_csrf_and_a_configured_channel(client, auth) -> None:
    auth.login()
    assert client.post("/settings/test-notification").status_code == 400
    page = _press_test_button(client)
    assert "Nothing to test yet" in page
