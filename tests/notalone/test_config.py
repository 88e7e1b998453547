"""The settings object: precedence of its sources, validation that names the key, the generated example."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from notalone import config as cfg
from notalone.config import Config, ConfigError, load_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    config = load_config(None, environ={})
    assert config == Config()
    assert (config.proxy.port, config.dashboard.port, config.proxy.mode) == (8080, 8000, "monitor")
    assert config.retention.days == 30
    assert config.help.helpline == "111"


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    file = write(tmp_path / "config.toml", "[proxy]\nport = 9000\nmode = 'warn'\n[retention]\ndays = 7\n")
    environ = {"NOTALONE_PROXY_PORT": "9001", "NOTALONE_LOGGING_JSON": "yes"}
    config = load_config(file, environ=environ, overrides={"proxy.port": ("--proxy-port", "9002")})
    assert config.proxy.port == 9002  # the flag wins over the environment and the file
    assert config.logging.json is True  # the environment wins over the default
    assert config.proxy.mode == "warn"  # the file wins over the default
    assert config.retention.days == 7
    assert load_config(file, environ=environ).proxy.port == 9001
    assert load_config(file, environ={}).proxy.port == 9000


def test_lists_from_toml_and_from_comma_separated_text(tmp_path: Path) -> None:
    file = write(tmp_path / "config.toml", '[proxy]\nignore_hosts = ["bank.example", "*.pinned.example"]\n')
    assert load_config(file, environ={}).proxy.ignore_hosts == ("bank.example", "*.pinned.example")
    environ = {"NOTALONE_PROXY_HOME_RANGES": "192.168.1.0/24, 10.8.0.0/16"}
    assert load_config(None, environ=environ).proxy.home_ranges == ("192.168.1.0/24", "10.8.0.0/16")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[proxy]\nport = 'abc'\n", "config.toml: proxy.port must be an integer 1-65535, got 'abc'"),
        ("[proxy]\nport = 70000\n", "config.toml: proxy.port must be an integer 1-65535, got 70000"),
        ("[proxy]\nmode = 'spy'\n", "config.toml: proxy.mode must be one of monitor, warn, block, got 'spy'"),
        ("[proxy]\nhome_ranges = ['192.168.1.0/24', 'my house']\n", "proxy.home_ranges must be a list"),
        ("[proxy]\nwireguard = 'maybe'\n", "proxy.wireguard must be true or false, got 'maybe'"),
        ("[retention]\ndays = 0\n", "retention.days must be an integer 1-3650, got 0"),
        ("[help]\nhelpline = 'call mum'\n", "help.helpline must be a phone number, got 'call mum'"),
        ("[proxy]\nprot = 8080\n", "unknown setting 'proxy.prot'"),
        ("[proxi]\nport = 8080\n", "unknown section [proxi]"),
        ("[proxy]\nport = \n", "not valid TOML"),
    ],
)
def test_a_bad_file_value_is_named(tmp_path: Path, text: str, message: str) -> None:
    file = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(file, environ={})
    assert message in str(caught.value)


def test_bad_environment_and_flag_values_name_their_source() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^NOTALONE_PROXY_PORT: proxy.port must be an integer 1-65535, "
        r"got 'abc'$",
    ):
        load_config(None, environ={"NOTALONE_PROXY_PORT": "abc"})
    with pytest.raises(ConfigError, match=r"^--dashboard-port: dashboard.port must be an integer"):
        load_config(None, environ={}, overrides={"dashboard.port": ("--dashboard-port", "-1")})
    with pytest.raises(ConfigError, match=r"unknown setting 'proxy\.nope'"):
        load_config(None, environ={}, overrides={"proxy.nope": ("--set proxy.nope", "1")})


def test_booleans_are_not_integers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"proxy\.port must be an integer"):
        load_config(write(tmp_path / "config.toml", "[proxy]\nport = true\n"), environ={})


def test_the_example_config_parses_to_the_defaults_and_documents_every_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert cfg.write_example_config(path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path, environ={}) == Config()
    text = path.read_text(encoding="utf-8")
    document = tomllib.loads(text)
    for key in cfg.KEYS.values():
        assert key.name in document[key.section], key.dotted
        assert key.env_var in text, key.dotted
    assert cfg.write_example_config(path) is False  # an existing file is the parent's; never overwritten


def test_every_key_has_help_and_an_environment_variable() -> None:
    assert len(cfg.KEYS) >= 15
    for key in cfg.KEYS.values():
        assert key.help.strip(), key.dotted
        assert key.env_var == f"NOTALONE_{key.section}_{key.name}".upper()


def test_dashboard_settings_override_the_file_and_bad_ones_are_reported() -> None:
    stored = {
        "proxy.mode": "block",
        "retention.days": 14,
        "proxy.allowed_clients": ["192.168.1.0/24"],
        "proxy.ignore_hosts": ["bad host!"],
    }
    config, problems = Config().with_parent_settings(stored)
    assert (config.proxy.mode, config.retention.days) == ("block", 14)
    assert config.proxy.home_ranges == ("192.168.1.0/24",)
    assert config.proxy.ignore_hosts == ()  # the bad value keeps the configured one
    assert problems == [
        "dashboard setting proxy.ignore_hosts: proxy.ignore_hosts must be a list, each a host name like "
        "bank.example or *.bank.example (comma-separated outside config.toml), got ['bad host!']"
    ]


def test_environment_for_round_trips_through_the_loader() -> None:
    values = {"proxy.port": 9100, "proxy.wireguard": True, "proxy.ignore_hosts": ("a.example", "b.example")}
    loaded = load_config(None, environ=cfg.environment_for(values))
    assert (loaded.proxy.port, loaded.proxy.wireguard, loaded.proxy.ignore_hosts) == (
        9100,
        True,
        ("a.example", "b.example"),
    )


def test_each_value_remembers_where_it_came_from(tmp_path: Path) -> None:
    file = write(tmp_path / "config.toml", "[proxy]\nmode = 'warn'\nport = 9000\n[retention]\ndays = 7\n")
    flags = {"proxy.port": ("--proxy-port", "9100")}
    config = load_config(file, environ={"NOTALONE_RETENTION_DAYS": "9"}, overrides=flags)
    assert [config.origin(k) for k in ("proxy.mode", "proxy.port", "retention.days", "dashboard.port")] == [
        "config.toml",
        "--proxy-port",
        "NOTALONE_RETENTION_DAYS",
        "default",
    ]
    in_force, _problems = config.with_parent_settings({"proxy.mode": "block"})
    assert in_force.origin("proxy.mode") == "dashboard" and in_force.origin("proxy.port") == "--proxy-port"

    # `notalone up` hands its flags to its parts as variables, naming the flags for the dashboard to show
    child = load_config(file, environ=cfg.environment_for({"proxy.port": 9100}, config.origins))
    assert (child.proxy.port, child.origin("proxy.port")) == (9100, "--proxy-port")


def test_default_home_ranges_match_the_addons() -> None:
    from proxy_addon.access import DEFAULT_HOME_RANGES

    assert cfg.DEFAULT_HOME_RANGES == DEFAULT_HOME_RANGES


def test_parent_ui_reads_the_dashboard_table_of_the_example(tmp_path: Path) -> None:
    """parent_ui reads config.toml's [dashboard] table itself: the keys written there must suit it."""
    from parent_ui import create_app

    cfg.write_example_config(tmp_path / "config.toml")
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    assert app.config["PAGE_SIZE"] == 25
    assert app.config["PORT"] == 8000


def test_the_configuration_reference_lists_every_key() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    reference = (docs / "configuration.md").read_text(encoding="utf-8")
    for key in cfg.KEYS.values():
        assert f"`{key.dotted}`" in reference and key.env_var in reference, key.dotted
    assert cfg.reference_markdown() in reference, "regenerate with notalone.config.reference_markdown()"
