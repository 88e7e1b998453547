"""`notalone proxy` on its own runs with the settings in force: config.toml, then the parent's choices."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from alert_store import AlertStore, DataDir, SettingKey
from notalone.commands import proxy as proxy_command

CONFIG_TOML = """
[proxy]
port = 9181
mode = "block"
home_ranges = ["192.168.1.0/24"]
ignore_hosts = ["bank.example"]

[retention]
days = 7
"""


def _data_dir(tmp_path: Path) -> DataDir:
    root = DataDir(tmp_path / "data").ensure()
    root.config_file.write_text(CONFIG_TOML, encoding="utf-8")
    return root


def _run(monkeypatch, root: DataDir, *args: str) -> dict:
    """Run the command with mitmproxy's serve() replaced by one that records what it was given."""
    seen: dict = {}

    async def serve(listen_host, listen_port, data_dir, mode, overrides):
        seen.update(host=listen_host, port=listen_port, mode=mode, overrides=list(overrides))

    monkeypatch.setattr(proxy_command, "serve", serve)
    result = CliRunner().invoke(proxy_command.proxy, ["--data-dir", str(root.root), *args])
    assert result.exit_code == 0, result.output
    return seen


def test_standalone_proxy_takes_config_toml_and_the_parents_choices(tmp_path, monkeypatch):
    root = _data_dir(tmp_path)
    with AlertStore(root.database) as store:
        store.set_setting(SettingKey.RETENTION_DAYS, 14)

    seen = _run(monkeypatch, root)

    assert (seen["port"], seen["mode"]) == (9181, "block")
    assert "notalone_home_ranges=192.168.1.0/24" in seen["overrides"]
    assert "notalone_retention_days=14" in seen["overrides"]
    assert any(o.startswith("ignore_hosts=") and "bank" in o for o in seen["overrides"])


def test_flags_and_sets_win_over_the_settings(tmp_path, monkeypatch):
    root = _data_dir(tmp_path)

    seen = _run(monkeypatch, root, "--mode", "warn", "--set", "notalone_home_ranges=10.0.0.0/8")

    assert seen["mode"] == "warn"
    ranges = [o for o in seen["overrides"] if o.startswith("notalone_home_ranges=")]
    assert ranges == ["notalone_home_ranges=10.0.0.0/8"]  # the flag's alone, not mixed with the file's
