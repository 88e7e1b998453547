"""The proxy's processes, end to end: one model (in the scoring process only), nothing left behind by a
SIGKILL, and a page held in scoring in warn mode does not hold up any other flow."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from proxy_harness import (
    HELD_HTML,
    ROOT,
    Fetched,
    Origin,
    OriginCertificates,
    ProxyProcess,
    fetch,
    poll,
    start_proxy,
)

pytestmark = pytest.mark.e2e

MODEL_MODULES = ("sklearn", "scipy", "joblib", "classifier.model", "classifier.features")


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_proxy_process_never_loads_the_model(
    tmp_path_factory: pytest.TempPathFactory, certificates: OriginCertificates, origin: Origin
) -> None:
    proxy = start_proxy(
        tmp_path_factory.mktemp("data"),
        certificates,
        mode="warn",
        via_mitmdump=True,
        scripts=(ROOT / "tests" / "e2e" / "module_probe.py",),
    )
    try:
        assert fetch(proxy, origin.http + "/win").status == 200  # a page scored (and warned) first
        modules = json.loads(fetch(proxy, "http://probe.notalone.invalid/").body)
        assert "proxy_addon.guard" in modules and "classifier.decision" in modules  # the probe works
        loaded = [m for m in modules if m.split(".")[0] in MODEL_MODULES or m in MODEL_MODULES]
        assert loaded == []
        [scoring] = children_of(proxy.process.pid)
        assert "proxy_addon.scoring_process" in Path(f"/proc/{scoring}/cmdline").read_text()
    finally:
        proxy.stop()


def test_notalone_proxy_maps_no_model_library_and_sigkill_leaves_nothing_behind(
    tmp_path_factory: pytest.TempPathFactory, certificates: OriginCertificates, origin: Origin
) -> None:
    proxy = start_proxy(tmp_path_factory.mktemp("data"), certificates, mode="warn")
    try:
        assert fetch(proxy, origin.http + "/homework").status == 200
        assert not [lib for lib in ("sklearn", "scipy") if f"/{lib}/" in mapped_files(proxy.process.pid)]
        family = children_of(proxy.process.pid)
        assert family, "the scoring process runs beside the proxy"
        proxy.process.send_signal(signal.SIGKILL)  # as the kernel's OOM killer does
        proxy.process.wait(30)
        poll(lambda: not any(alive(pid) for pid in family), 60, "every process the proxy started ended")
    finally:
        proxy.stop()


@pytest.fixture
def held_proxy(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, certificates: OriginCertificates
) -> tuple[ProxyProcess, Path, Path]:
    held, release = tmp_path / "held", tmp_path / "release"
    proxy = start_proxy(
        tmp_path_factory.mktemp("data"),
        certificates,
        mode="warn",
        options={"notalone_model_factory": "tests.e2e.slow_scoring:slow_model"},
        env={"NOTALONE_TEST_HELD": str(held), "NOTALONE_TEST_RELEASE": str(release)},
    )
    yield proxy, held, release
    release.touch()
    proxy.stop()


def test_a_page_held_in_scoring_does_not_hold_up_other_flows(
    held_proxy: tuple[ProxyProcess, Path, Path], origin: Origin
) -> None:
    proxy, held, release = held_proxy
    results: dict[str, Fetched] = {}
    page = threading.Thread(target=lambda: results.update(page=fetch(proxy, origin.https + "/held")))
    page.start()
    poll(held.exists, 60, "the warned page reached the model")
    # While that page waits for its score, other flows are forwarded: the event loop is free.
    for _ in range(3):
        other = fetch(proxy, origin.https + "/style.css")
        assert other.status == 200 and other.body == b"body { color: navy }"
    assert page.is_alive() and "page" not in results  # still held: the other flows did not wait for it
    release.touch()
    page.join(60)
    assert results["page"].status == 200 and results["page"].body == HELD_HTML.encode()


def run_in_namespace(namespace: str, *command: str) -> str:
    import subprocess

    return subprocess.run(
        ["ip", "netns", "exec", namespace, *command], capture_output=True, text=True, timeout=60, check=False
    ).stdout


@pytest.fixture
def lan_client() -> Callable[..., str]:
    """A client on another address than the box: a network namespace joined to the box by a veth pair.
    Yields a function that runs a command inside it; the box's end is 10.231.77.1, the client 10.231.77.2."""
    import subprocess
    import uuid

    name = f"na-{uuid.uuid4().hex[:6]}"
    host_if, ns_if = f"vh{name[3:]}", f"vn{name[3:]}"

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)

    if os.geteuid() != 0 or sh("ip", "netns", "add", name).returncode != 0:
        pytest.skip("needs `ip netns` (root or CAP_NET_ADMIN) to make a client that is not the box")
    try:
        steps = [
            ("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if),
            ("ip", "link", "set", ns_if, "netns", name),
            ("ip", "addr", "add", "10.231.77.1/24", "dev", host_if),
            ("ip", "link", "set", host_if, "up"),
            ("ip", "netns", "exec", name, "ip", "addr", "add", "10.231.77.2/24", "dev", ns_if),
            ("ip", "netns", "exec", name, "ip", "link", "set", ns_if, "up"),
            ("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = sh(*step)
            if done.returncode != 0:
                pytest.skip(f"could not set up the veth pair ({' '.join(step)}): {done.stderr.strip()}")
        yield lambda *command: run_in_namespace(name, *command)
    finally:
        sh("ip", "link", "del", host_if)
        sh("ip", "netns", "del", name)


CURL_STATUS = ("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30")


def test_a_device_on_the_lan_reaches_nothing_on_the_box_through_the_proxy(
    lan_client: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
    certificates: OriginCertificates,
    origin: Origin,
) -> None:
    proxy = start_proxy(tmp_path_factory.mktemp("data"), certificates, listen_host="")
    try:
        via = f"http://10.231.77.1:{proxy.port}"
        for target in (f"{origin.http}/homework", f"http://10.231.77.1:{origin.http_port}/homework"):
            assert lan_client(*CURL_STATUS, "-x", via, target) == "403", target
        # CONNECT too, and the proxy's own port
        assert lan_client(*CURL_STATUS, "-x", via, f"{origin.https}/homework") in ("000", "403")
        assert lan_client(*CURL_STATUS, "-x", via, f"http://127.0.0.1:{proxy.port}/") == "403"
        # The box itself still reaches its own origin through the proxy (the other e2e tests rely on it).
        assert fetch(proxy, origin.http + "/homework").status == 200
        counters = poll(lambda: (c := proxy.counters()).get("refused.box", 0) >= 3 and c, 60, "counted")
        assert counters["refused.own_service"] >= 1
    finally:
        proxy.stop()
