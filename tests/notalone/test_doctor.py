"""notalone doctor: each check, failing the way it fails on a real machine, named in one sentence with
what to do; and the command itself."""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from alert_store import AlertStore, DataDir, SettingKey
from classifier.model import ARTIFACT_NAME, CARD_NAME, MODELS_DIR
from notalone.cli import main
from notalone.commands.doctor import running_notalone
from notalone.commands.up import failure_sentence
from notalone.config import Config, load_config
from notalone.doctor import (
    ALL,
    DASHBOARD,
    ERROR,
    PROXY,
    WARNING,
    Finding,
    blocked_parts,
    check_ca,
    check_clock,
    check_data_dir,
    check_imports,
    check_model,
    check_network,
    check_ports,
)


def one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def config_with(**values: object) -> Config:
    return Config().with_values(values)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# -- dependencies -----------------------------------------------------------------------------------------
def test_a_module_whose_import_fails_is_named_with_the_error_and_the_part_it_stops(tmp_path: Path) -> None:
    package = tmp_path / "filterpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "inflate.py").write_text("import zstandard_not_installed_here\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    finding = one(check_imports({"filterpkg": PROXY}, env=env))

    assert finding.level == ERROR and finding.blocks == PROXY
    assert "filterpkg.inflate" in finding.message
    assert "No module named 'zstandard_not_installed_here'" in finding.message
    assert finding.message.startswith("The proxy cannot start")
    assert "make clean run" in finding.message


def test_the_installed_packages_import() -> None:
    finding = one(check_imports({"alert_store": ALL, "parent_ui": DASHBOARD}))
    assert finding.ok, finding.message


# -- the model --------------------------------------------------------------------------------------------
@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    shutil.copy(MODELS_DIR / ARTIFACT_NAME, tmp_path / ARTIFACT_NAME)
    shutil.copy(MODELS_DIR / CARD_NAME, tmp_path / CARD_NAME)
    return tmp_path / ARTIFACT_NAME


def test_the_shipped_model_matches_its_checksum(model_copy: Path) -> None:
    assert one(check_model(model_copy)).ok


def test_a_changed_model_is_named_with_what_to_do(model_copy: Path) -> None:
    with model_copy.open("r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    finding = one(check_model(model_copy))
    assert finding.level == ERROR
    assert "does not match the checksum" in finding.message
    assert "git checkout models/" in finding.message and "make model" in finding.message
    assert finding.blocks == ""  # the proxy still runs, with scoring off, and the dashboard says so


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    finding = one(check_model(tmp_path / ARTIFACT_NAME))
    assert finding.level == ERROR and "is missing" in finding.message


# -- the data directory -----------------------------------------------------------------------------------
def test_a_data_directory_that_cannot_be_made_stops_everything(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    root = tmp_path / "a-file" / "notalone"
    finding = one(check_data_dir(DataDir(root)))
    assert finding.level == ERROR and finding.blocks == ALL
    assert str(root) in finding.message and "--data-dir" in finding.message


def test_a_new_data_directory_is_checked_without_being_made(tmp_path: Path) -> None:
    root = tmp_path / "new" / "notalone"
    assert one(check_data_dir(DataDir(root))).ok
    assert not root.exists()


# -- ports ------------------------------------------------------------------------------------------------
def test_a_taken_proxy_port_stops_the_proxy_and_names_another(taken_port: int) -> None:
    config = config_with(**{"proxy.listen_host": "127.0.0.1", "proxy.port": taken_port})
    config = config.with_values({"dashboard.host": "127.0.0.1", "dashboard.port": _free_port()})
    finding = one(check_ports(config))
    assert finding.level == ERROR and finding.blocks == PROXY
    assert f"Port {taken_port} (proxy.port) is already in use" in finding.message
    assert f"--set proxy.port={taken_port + 1}" in finding.message


def test_a_taken_dashboard_port_stops_the_dashboard(taken_port: int) -> None:
    config = config_with(
        **{
            "proxy.listen_host": "127.0.0.1",
            "proxy.port": _free_port(),
            "dashboard.host": "127.0.0.1",
            "dashboard.port": taken_port,
        }
    )
    finding = one(check_ports(config))
    assert finding.blocks == DASHBOARD and "dashboard.port" in finding.message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the CA -----------------------------------------------------------------------------------------------
@pytest.fixture
def ca_dir(tmp_path: Path) -> DataDir:
    data_dir = DataDir(tmp_path / "data").ensure()
    data_dir.ca_cert.write_text("-----BEGIN CERTIFICATE-----\n")
    return data_dir


def test_a_ca_key_others_can_read_is_named_with_the_chmod(ca_dir: DataDir) -> None:
    key = ca_dir.confdir / "mitmproxy-ca.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o644)
    finding = one(check_ca(ca_dir))
    assert finding.level == ERROR
    assert f"chmod 600 {key}" in finding.message and "mode 644" in finding.message


def test_a_private_ca_key_is_fine(ca_dir: DataDir) -> None:
    key = ca_dir.confdir / "mitmproxy-ca.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    assert one(check_ca(ca_dir)).ok


def test_no_ca_yet_is_fine_the_proxy_makes_it(tmp_path: Path) -> None:
    finding = one(check_ca(DataDir(tmp_path)))
    assert finding.ok and "creates it" in finding.message


# -- the network address ----------------------------------------------------------------------------------
def test_no_network_address_is_named() -> None:
    finding = one(check_network(Config(), find_address=lambda: None))
    assert finding.level == ERROR and "no address on a home network" in finding.message


def test_a_loopback_proxy_is_a_warning_devices_cannot_reach() -> None:
    finding = one(check_network(config_with(**{"proxy.listen_host": "127.0.0.1"})))
    assert finding.level == WARNING and "proxy.listen_host" in finding.message


def test_the_address_devices_use_is_said() -> None:
    finding = one(check_network(Config(), find_address=lambda: "192.168.1.20"))
    assert finding.ok and "192.168.1.20:8080" in finding.message


# -- the clock --------------------------------------------------------------------------------------------
def test_a_clock_before_the_build_is_named_with_what_to_do() -> None:
    built = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
    finding = one(check_clock(datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC), built=built))
    assert finding.level == ERROR
    assert "2001-01-01" in finding.message and "timedatectl" in finding.message


def test_a_clock_after_the_build_is_fine() -> None:
    built = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
    assert one(check_clock(built + datetime.timedelta(days=3), built=built)).ok


# -- together ---------------------------------------------------------------------------------------------
def test_blocked_parts_keeps_the_first_reason_for_each_part() -> None:
    first = Finding("ports", ERROR, "a", PROXY)
    findings = [Finding("model", ERROR, "m"), first, Finding("deps", ERROR, "b", PROXY)]
    assert blocked_parts(findings) == {PROXY: first}


def test_the_command_names_each_problem_and_fails(tmp_path: Path, taken_port: int) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [proxy]
            listen_host = "127.0.0.1"
            port = {taken_port}
            [dashboard]
            host = "127.0.0.1"
            port = {_free_port()}
            """
        )
    )
    load_config(config)  # the file is valid: the problem is the port
    args = ["doctor", "--data-dir", str(tmp_path / "data"), "--config", str(config)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert f"PROBLEM  ports            Port {taken_port} (proxy.port) is already in use" in result.output
    assert "ok       dependencies" in result.output
    assert "1 problem(s) found" in result.output


def test_a_part_that_keeps_failing_is_explained_by_its_last_error_line() -> None:
    lines = ["Traceback (most recent call last):", '  File "inflate.py"', "ModuleNotFoundError: zstandard"]
    sentence = failure_sentence(lines)
    assert "(last: ModuleNotFoundError: zstandard)" in sentence
    assert "notalone doctor" in sentence and sentence.endswith(".")


def test_beside_a_running_notalone_its_own_ports_are_not_a_problem(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data").ensure()
    assert running_notalone(data_dir) is None
    # A stand-in for `notalone up` (its command line is what the check reads), recorded as up records itself.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "notalone", "up"])
    try:
        with AlertStore(data_dir.database) as store:
            store.set_setting(SettingKey.UP_STATUS, {"pid": sleeper.pid})
        assert running_notalone(data_dir) == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
    assert running_notalone(data_dir) is None  # gone: its ports are checked again
