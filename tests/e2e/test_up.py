"""End to end: ``notalone up`` on free ports, started by make as ``make run`` starts it, the demo's traffic
through it (twice: a second run raises its alerts again), alerts found in the dashboard after logging in,
then SIGTERM to make's process group and every alert still in the database. And ``up`` when a part cannot
start: the dashboard alone, saying why the filter is not running; or a clear refusal.

All servers listen on 127.0.0.1. Waits poll with generous deadlines (the machine is shared and slow);
nothing asserts on timing.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    alert_ids: list[int] = field(default_factory=list)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"


def up_command(root: Path, proxy_port: int, dashboard_port: int) -> list[str]:
    return [
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


def start_up(command: list[str], root: Path, log_file: Path, proxy_port: int, dashboard_port: int) -> Up:
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True
        )
    running = Up(process, DataDir(root), proxy_port, dashboard_port, log_file)
    poll(
        lambda: process.poll() is not None or "event=ready" in running.log(),
        START_TIMEOUT_S,
        "notalone up ready",
    )
    return running


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Only reached when a test failed before stopping it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`notalone up` run by make, as `make run` runs it (make passes a SIGTERM on to it)."""
    root = tmp_path_factory.mktemp("up") / "data"  # not there yet: `up` must create it
    makefile = root.parent / "Makefile"
    proxy_port, dashboard_port = free_port(), free_port()
    recipe = " ".join(up_command(root, proxy_port, dashboard_port))
    makefile.write_text(f"run:\n\t{recipe}\n")
    command = ["make", "--no-print-directory", "-f", str(makefile), "run"]
    running = start_up(command, root, root.parent / "up.log", proxy_port, dashboard_port)
    try:
        assert running.process.poll() is None, f"make run exited:\n{running.log()[-4000:]}"
        yield running
    finally:
        kill_group(running.process)


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


def run_demo(up: Up) -> subprocess.CompletedProcess[str]:
    """The demo as a parent runs it: no --proxy, so it finds the proxy `up` recorded."""
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "notalone",
            "demo",
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
    return demo


def test_demo_alerts_reach_the_dashboard(up: Up) -> None:
    demo = run_demo(up)
    assert f"http://127.0.0.1:{up.dashboard_port}/alerts/" in demo.stdout  # the dashboard up runs

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
    up.alert_ids = sorted(details)
    with AlertStore(up.data_dir.database) as store:
        # However many detections, each risky page and chat is one incident, each chat with its transcript.
        incidents = [i for i in store.incidents(limit=1000) if i.category != "help"]
        assert len(incidents) == len(risky) == len(details), [(i.kind, i.url) for i in incidents]
        assert all(store.incident_transcript(i.id) for i in incidents if i.is_conversation)


def test_a_second_demo_run_raises_its_alerts_again(up: Up) -> None:
    with AlertStore(up.data_dir.database) as store:
        before = store.count()
    demo = run_demo(up)
    assert "no alert" not in demo.stdout, demo.stdout
    risky_chats = [chat for chat in load_chats() if chat.risky]
    with AlertStore(up.data_dir.database) as store:
        new = store.list(limit=1000)[: store.count() - before]
    for chat in risky_chats:
        assert any(chat.path in alert.url for alert in new), f"no new alert for {chat.path}"


def test_sigterm_to_make_runs_group_stops_cleanly_and_keeps_every_alert(up: Up) -> None:
    with AlertStore(up.data_dir.database) as store:
        before = store.count()
    os.killpg(up.process.pid, signal.SIGTERM)  # as systemd, or a terminal's job control, stops `make run`
    try:
        up.process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        processes = subprocess.run(["ps", "-ef"], capture_output=True, text=True, check=False).stdout
        mine = [line for line in processes.splitlines() if str(up.data_dir.root) in line]
        raise AssertionError(f"make run did not stop:\n{up.log()[-6000:]}\n" + "\n".join(mine)) from None
    log = up.log()
    assert "event=stopped exit_code=0" in log, log[-4000:]
    assert "part=proxy exit_code=0" in log  # the proxy ran its shutdown, which writes its queued alerts
    assert "killing" not in log and "were killed" not in log
    with AlertStore(up.data_dir.database) as store:
        assert not [alert_id for alert_id in up.alert_ids if store.get(alert_id) is None]
        assert store.count() >= before


# -- when a part cannot start ------------------------------------------------------------------------------
@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_proxy_port_leaves_the_dashboard_up_saying_why(tmp_path: Path, taken_port: int) -> None:
    root = tmp_path / "data"
    dashboard_port = free_port()
    command = up_command(root, taken_port, dashboard_port)
    running = start_up(command, root, tmp_path / "up.log", taken_port, dashboard_port)
    try:
        assert running.process.poll() is None, running.log()[-4000:]
        sentence = f"The filter is not running: Port {taken_port} (proxy.port) is already in use"
        assert sentence in running.log()
        assert 'part started" part=proxy' not in running.log()  # not started, so never restarted
        with AlertStore(running.data_dir.database) as store:
            status = store.settings()["status.up"]
        assert status["parts"]["proxy"]["running"] is False
        assert f"--set proxy.port={taken_port + 1}" in status["parts"]["proxy"]["reason"]
        status_code, url, _page = Browser(running.dashboard).get("/")
        assert status_code == 200 and url.endswith("/setup")  # the dashboard serves
        os.killpg(running.process.pid, signal.SIGTERM)
        assert running.process.wait(STOP_TIMEOUT_S) == 0, running.log()[-4000:]
    finally:
        kill_group(running.process)


def test_a_taken_dashboard_port_is_refused_in_one_sentence(tmp_path: Path, taken_port: int) -> None:
    command = up_command(tmp_path / "data", free_port(), taken_port)
    result = subprocess.run(
        command, capture_output=True, text=True, env=clean_env(), timeout=START_TIMEOUT_S, check=False
    )
    assert result.returncode == 1
    assert f"Error: Port {taken_port} (dashboard.port) is already in use" in result.stderr
    assert "Traceback" not in result.stderr
