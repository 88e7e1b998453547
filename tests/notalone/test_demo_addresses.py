"""notalone demo: fresh conversations each run, and the addresses of the NotAlone actually running."""

from __future__ import annotations

from pathlib import Path

from alert_store import AlertStore, DataDir, SettingKey
from notalone.commands.demo import running_addresses
from notalone.config import Config
from notalone.demo import load_chats
from notalone.lan import lan_address


def test_each_run_has_its_own_conversations() -> None:
    base, first, second = load_chats(), load_chats(run="a1b2c3"), load_chats(run="d4e5f6")
    assert [c.name for c in first] == [c.name for c in second] == [c.name for c in base]
    for plain, one, other in zip(base, first, second, strict=True):
        assert one.conversation == f"{plain.conversation}-a1b2c3" != other.conversation
        assert one.turns == plain.turns


def test_without_a_running_up_the_settings_in_force_give_the_addresses(tmp_path: Path) -> None:
    config = Config().with_values({"dashboard.port": 8123, "proxy.port": 8181})
    proxy, dashboard = running_addresses(config, DataDir(tmp_path).database)
    assert proxy == "127.0.0.1:8181"
    assert dashboard == f"http://{lan_address()}:8123/"  # dashboard.host 0.0.0.0: the LAN address


def test_the_addresses_up_recorded_win(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path).ensure()
    with AlertStore(data_dir.database) as store:
        store.set_setting(
            SettingKey.UP_STATUS,
            {"proxy_local": "127.0.0.1:9090", "dashboard": "http://192.168.1.20:9000/"},
        )
    assert running_addresses(Config(), data_dir.database) == ("127.0.0.1:9090", "http://192.168.1.20:9000/")
