"""End to end: ``notalone up`` on free ports, the demo's traffic through it, alerts found in the dashboard
after logging in, then SIGTERM and every alert still in the database.

All servers listen on 127.0.0.1. Waits poll with generous deadlines (the machine is shared and slow);
nothing asserts on timing.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from proxy_harness import free_port, poll

from alert_store import AlertStore, DataDir
from notalone.demo import RISKY_PAGES, load_chats, load_pages

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 240.0
ALERT_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 90.0
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ALERT_LINK = re.compile(r'href="/alerts/(\d+)')


def clean_env() -> dict[str, str]:
    """No proxy variables (the test talks to loopback servers directly) and no NOTALONE_* settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith("NOTALONE_")
    }


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    data_dir: DataDir
    proxy_port: int
    dashboard_port: int
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root = tmp_path_factory.mktemp("up") / "data"  # not there yet: `up` must create it
    log_file = root.parent / "up.log"
    proxy_port, dashboard_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "notalone",
        "up",
        "--data-dir",
        str(root),
        "--listen-host",
        "127.0.0.1",
        "--proxy-port",
        str(proxy_port),
        "--dashboard-host",
        "127.0.0.1",
        "--dashboard-port",
        str(dashboard_port),
    ]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True
        )
    running = Up(process, DataDir(root), proxy_port, dashboard_port, log_file)
    try:
        poll(
            lambda: process.poll() is not None or "event=ready" in running.log(),
            START_TIMEOUT_S,
            "notalone up ready",
        )
        assert process.poll() is None, f"notalone up exited:\n{running.log()[-4000:]}"
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # only reached when a test failed before stopping it
            process.wait(30)


class Browser:
    """A parent's browser: cookies kept, no proxy, redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode("utf-8")

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode("utf-8")

    def token(self, page: str) -> str:
        match = CSRF.search(page)
        assert match, "the form carries a CSRF token"
        return match.group(1)


def test_up_creates_a_private_data_dir_with_the_example_config(up: Up) -> None:
    assert stat.S_IMODE(up.data_dir.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(up.data_dir.config_file.stat().st_mode) == 0o600
    assert "[proxy]" in up.data_dir.config_file.read_text()
    assert up.data_dir.ca_cert.is_file()
    log = up.log()
    assert f":{up.proxy_port}" in log and f":{up.dashboard_port}/" in log
    assert "/setup" in log  # the first-run link is printed


def test_demo_alerts_reach_the_dashboard_and_survive_sigterm(up: Up) -> None:
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "notalone",
            "demo",
            "--proxy",
            f"127.0.0.1:{up.proxy_port}",
            "--data-dir",
            str(up.data_dir.root),
            "--pace",
            "0.1",
            "--wait",
            "150",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, f"{demo.stdout}\n{demo.stderr}\n{up.log()[-4000:]}"

    # First run: the setup form (password and children) through the dashboard's own forms.
    browser = Browser(up.dashboard)
    status, url, page = browser.get("/")
    assert url.endswith("/setup")
    status, url, page = browser.post(
        "/setup",
        {
            "csrf_token": browser.token(page),
            "password": PASSWORD,
            "confirm": PASSWORD,
            "children": "Mai\nAn",
        },
    )
    assert status == 200 and "/alerts/" in url
    # Log out and in again, as a parent would on another day.
    browser.post("/logout", {"csrf_token": browser.token(page)})
    status, url, page = browser.get("/alerts/")
    assert "/login" in url
    status, url, page = browser.post("/login", {"csrf_token": browser.token(page), "password": PASSWORD})
    assert status == 200 and "/alerts/" in url

    risky = RISKY_PAGES | {chat.path for chat in load_chats() if chat.risky}
    benign = {page.path for page in load_pages()} - RISKY_PAGES

    def alerts_in_dashboard() -> dict[int, str] | None:
        ids: list[int] = []
        for number in range(1, 20):
            _, _, listing = browser.get(f"/alerts/?page={number}")
            found = [int(i) for i in dict.fromkeys(ALERT_LINK.findall(listing))]
            if not found or set(found) <= set(ids):
                break
            ids += [i for i in found if i not in ids]
        details = {alert_id: browser.get(f"/alerts/{alert_id}")[2] for alert_id in ids}
        seen = {path for path in risky if any(path in html for html in details.values())}
        return details if seen == risky else None

    details = poll(alerts_in_dashboard, ALERT_TIMEOUT_S, "an alert for every risky demo page and chat")
    assert not [path for path in benign if any(f"{path}<" in h or f'{path}"' in h for h in details.values())]

    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(STOP_TIMEOUT_S) == 0, up.log()[-4000:]
    log = up.log()
    assert "part stopped" in log and "part=proxy exit_code=0" in log
    with AlertStore(up.data_dir.database) as store:
        missing = [alert_id for alert_id in details if store.get(alert_id) is None]
        assert not missing
        assert store.count() >= len(details)
        # However many detections, each risky page and chat is one incident, each chat with its transcript.
        incidents = [i for i in store.incidents(limit=1000) if i.category != "help"]
        assert len(incidents) == len(risky) == len(details), [(i.kind, i.url) for i in incidents]
        assert all(store.incident_transcript(i.id) for i in incidents if i.is_conversation)
