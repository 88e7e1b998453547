"""NotAlone's one settings object: defaults < ``config.toml`` < ``NOTALONE_<SECTION>_<KEY>`` < CLI flags
< the parent's choices on the dashboard's Settings page (stored in the database).

Every key is declared once, below, with its default, its help text and the rule its value must follow;
the example ``config.toml``, the environment variable names, the validation messages and the reference in
``docs/configuration.md`` all come from those declarations. Values are validated when they are loaded, and
an error names the source, the key and the bad value::

    config.toml: proxy.port must be an integer 1-65535, got 'abc'

The dashboard keeps a few of the same settings in the database (:data:`PARENT_SETTINGS`: ``proxy.mode``,
``retention.days``, the country, ...); the parent's choices there override everything else while NotAlone
runs (:meth:`Config.with_parent_settings`). The proxy, the dashboard and ``notalone up`` all read the
values in force this way, and every value remembers where it came from (:meth:`Config.origin`), which the
Settings page shows. The dashboard validates what a parent types with the same rules (:func:`convert`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alert_store import DEFAULT_ALLOWED_CLIENTS, MODES, SettingKey
from alert_store.helplines import COUNTRIES, DEFAULT_COUNTRY, OTHER, HelplineError, Helplines, helplines_for
from alert_store.helplines import valid_phone as _valid_phone

ENV_PREFIX = "NOTALONE_"
# Set by `notalone up` for its parts: which of its flags set each NOTALONE_* variable it passes on, so that
# the dashboard can say "from --mode" rather than "from NOTALONE_PROXY_MODE".
ORIGINS_ENV = "NOTALONE_ORIGINS"
DEFAULT_HOME_RANGES: tuple[str, ...] = DEFAULT_ALLOWED_CLIENTS  # the proxy's own default too
DEFAULT = "default"
DASHBOARD = "dashboard"  # the origin of a value the parent chose on the Settings page


class ConfigError(ValueError):
    """A setting that cannot be used; the message names where it came from, the key and the value."""


class _Invalid(Exception):
    """Raised by a rule's ``convert`` when the value breaks it; the loader turns it into a ConfigError."""


# -- rules: how a raw value (typed, from TOML; or text, from the environment or a flag) becomes a setting ----
@dataclass(frozen=True)
class Integer:
    low: int
    high: int

    def describe(self) -> str:
        return f"an integer {self.low}-{self.high}"

    def convert(self, raw: object) -> int:
        if isinstance(raw, str):
            try:
                raw = int(raw.strip())
            except ValueError:
                raise _Invalid from None
        if isinstance(raw, bool) or not isinstance(raw, int) or not self.low <= raw <= self.high:
            raise _Invalid
        return raw


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def convert(self, raw: object) -> str:
        """The option as declared, matched without regard to case ("Block" -> "block", "gb" -> "GB")."""
        if not isinstance(raw, str):
            raise _Invalid
        by_folded = {option.casefold(): option for option in self.options}
        try:
            return by_folded[raw.strip().casefold()]
        except KeyError:
            raise _Invalid from None


@dataclass(frozen=True)
class Flag:
    TRUE = ("true", "yes", "on", "1")
    FALSE = ("false", "no", "off", "0")

    def describe(self) -> str:
        return "true or false"

    def convert(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in self.TRUE + self.FALSE:
            return raw.strip().lower() in self.TRUE
        raise _Invalid


@dataclass(frozen=True)
class Text:
    """A string, optionally checked by ``check`` (which returns True for a good value)."""

    description: str = "a string"
    check: Callable[[str], bool] = lambda value: True

    def describe(self) -> str:
        return self.description

    def convert(self, raw: object) -> str:
        if not isinstance(raw, str) or not self.check(raw.strip()):
            raise _Invalid
        return raw.strip()


@dataclass(frozen=True)
class TextList:
    """A list of strings: a TOML array, or comma-separated text in the environment or on the command line."""

    item: Text

    def describe(self) -> str:
        return f"a list, each {self.item.description} (comma-separated outside config.toml)"

    def convert(self, raw: object) -> tuple[str, ...]:
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list | tuple):
            raise _Invalid
        return tuple(self.item.convert(item) for item in raw)


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _is_listen_host(value: str) -> bool:
    """Empty (every interface), an IP address, or a host name."""
    if not value or value == "localhost":
        return True
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return _HOST_NAME.fullmatch(value) is not None
    return True


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}", re.IGNORECASE)
_HOST_PATTERN = re.compile(r"(\*\.)?" + _HOST_NAME.pattern, re.IGNORECASE)
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{1,24}")

PORT = Integer(1, 65535)
HOST = Text("an IP address or host name (empty: every interface)", _is_listen_host)
NETWORK = Text("a CIDR range like 192.168.0.0/16", _is_network)
HOST_NAME = Text(
    "a host name like bank.example or *.bank.example", lambda v: bool(_HOST_PATTERN.fullmatch(v))
)
PLAIN_HOST_NAME = Text("a host name like notalone.lan", lambda v: bool(_HOST_NAME.fullmatch(v)))
PHONE = Text("a phone number", lambda v: bool(_PHONE.fullmatch(v)))


def _is_phone_or_empty(value: str) -> bool:
    try:
        return not value or bool(_valid_phone(value))
    except HelplineError:
        return False


OPTIONAL_PHONE = Text("a phone number, or empty", _is_phone_or_empty)
LEVELS = ("debug", "info", "warning", "error")


def setting(default: Any, help: str, rule: Any) -> Any:
    """Declare one key: its default, the sentence documenting it, and the rule its values must follow."""
    return field(default=default, metadata={"help": help, "rule": rule})


# -- the sections ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxySettings:
    """The filtering proxy that children's devices use."""

    listen_host: str = setting(
        "",
        "Address the proxy listens on. Empty: every interface, so devices on the home network can "
        "reach it; clients outside home_ranges are refused whatever this is.",
        HOST,
    )
    port: int = setting(8080, "Port of the proxy (mitmproxy's default). Devices are set up with it.", PORT)
    mode: str = setting(
        "monitor",
        "monitor: pages reach the child untouched and parents get alerts; warn: a likely scam "
        "page is replaced by a warning with 'go back' and 'continue anyway'; block: the same without "
        "'continue'. The dashboard's Settings page overrides this.",
        Choice(MODES),
    )
    home_ranges: tuple[str, ...] = setting(
        DEFAULT_HOME_RANGES,
        "Client address ranges allowed to use the proxy (CIDR); everyone else is "
        "refused. The dashboard's 'allowed client ranges' overrides this.",
        TextList(NETWORK),
    )
    max_body: int = setting(
        2 * 1024 * 1024,
        "Pages and messages larger than this many bytes are passed on unread (2 MiB, like e2guardian).",
        Integer(1024, 1024**3),
    )
    ignore_hosts: tuple[str, ...] = setting(
        (),
        "Hosts passed through without being decrypted or read (banking, apps that pin certificates); "
        "a host covers its subdomains. The dashboard's 'hosts never intercepted' overrides this (applied "
        "when the proxy starts).",
        TextList(HOST_NAME),
    )
    wireguard: bool = setting(
        False,
        "Also run mitmproxy's WireGuard listener, for phones: one tunnel gives the phone's traffic "
        "to NotAlone on Wi-Fi and on mobile data (see docs/wireguard.md).",
        Flag(),
    )
    wireguard_port: int = setting(51820, "UDP port of the WireGuard listener.", PORT)


@dataclass(frozen=True)
class DashboardSettings:
    """The parent dashboard (parent_ui sees these keys as Flask settings, upper-cased)."""

    host: str = setting(
        "0.0.0.0",
        "Address the dashboard listens on; 0.0.0.0 lets the parent's phone on the home "
        "network in. Every page needs the parent's login.",
        HOST,
    )
    port: int = setting(8000, "Port of the dashboard.", PORT)
    host_names: tuple[str, ...] = setting(
        (),
        "Extra names the dashboard answers to, e.g. one your router gives the box (notalone.lan). It "
        "always answers to the box's own addresses, its host name (and .local) and localhost; any other "
        "Host is refused, so that a web page cannot reach it by pointing its own name at the box.",
        TextList(PLAIN_HOST_NAME),
    )
    threads: int = setting(4, "Request threads of the dashboard's server (waitress).", Integer(1, 64))
    page_size: int = setting(25, "Alerts per page.", Integer(5, 500))
    login_max_failures: int = setting(
        5, "Wrong passwords allowed per address before the login pauses.", Integer(1, 100)
    )
    login_window_s: int = setting(
        15 * 60, "Seconds a paused login waits (and over which failures are counted).", Integer(10, 86400)
    )
    login_max_failures_all: int = setting(
        20,
        "Wrong passwords allowed from all addresses together in the same window; then the login pauses "
        "for everyone but the box itself (open the dashboard on the machine, or wait).",
        Integer(1, 10000),
    )


@dataclass(frozen=True)
class RetentionSettings:
    """How long NotAlone keeps what it stored."""

    days: int = setting(
        30,
        "Alerts, their conversations, blind-spot records and feedback older than this many days are "
        "deleted (checked hourly). The dashboard's Settings page overrides this.",
        Integer(1, 3650),
    )


@dataclass(frozen=True)
class LoggingSettings:
    """What ``notalone up`` writes to its standard error (systemd's journal when run as a service)."""

    level: str = setting("info", "debug, info, warning or error; --verbose means debug.", Choice(LEVELS))
    json: bool = setting(False, "One JSON object per line instead of key=value pairs.", Flag())


@dataclass(frozen=True)
class HelpSettings:
    """Where a child and a parent are told to turn: the country's child helpline and emergency number."""

    country: str = setting(
        DEFAULT_COUNTRY,
        "The family's country, whose free child helpline and emergency number the child's pages and the "
        "dashboard show (VN: 111 and 113; GB: Childline 0800 1111 and 999; ...). 'other': give child_line "
        "and emergency. The parent picks it at first run; the dashboard's Settings page overrides this.",
        Choice((*COUNTRIES, OTHER)),
    )
    child_line: str = setting("", "With country = 'other': the child helpline to show.", OPTIONAL_PHONE)
    emergency: str = setting(
        "", "With country = 'other': the emergency (police) number to show.", OPTIONAL_PHONE
    )
    helpline: str = setting(
        "111",
        "Replaced by country: still accepted so that older config files load, and no longer read.",
        PHONE,
    )


@dataclass(frozen=True)
class Config:
    """Every setting, immutable, with where each value came from. Build it with :func:`load_config`, then
    :meth:`with_parent_settings` for the values in force."""

    proxy: ProxySettings = field(default_factory=ProxySettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    help: HelpSettings = field(default_factory=HelpSettings)
    # "section.key" -> where its value came from: "config.toml", "NOTALONE_PROXY_MODE", "--mode",
    # "dashboard"; a key not listed has its default. Not part of equality: two configs with the same
    # values are the same settings in force.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def get(self, key: str) -> Any:
        section, name = key.split(".", 1)
        return getattr(getattr(self, section), name)

    def origin(self, key: str) -> str:
        """Where ``key``'s value in force came from: ``"default"``, a file name, a variable, a flag or
        ``"dashboard"``."""
        return self.origins.get(key, DEFAULT)

    def with_values(self, values: Mapping[str, Any], origin: str | Mapping[str, str] | None = None) -> Config:
        """A copy with ``{"section.key": value}`` replaced (values already converted), each recorded as
        coming from ``origin`` (one source for all, or a source per key)."""
        by_section: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            section, name = key.split(".", 1)
            by_section.setdefault(section, {})[name] = value
        origins = dict(self.origins)
        if origin is not None:
            origins |= {k: origin if isinstance(origin, str) else origin[k] for k in values}
        return dataclasses.replace(
            self,
            **{
                section: dataclasses.replace(getattr(self, section), **changes)
                for section, changes in by_section.items()
            },
            origins=origins,
        )

    def with_parent_settings(self, stored: Mapping[str, Any]) -> tuple[Config, list[str]]:
        """Overlay what the parent chose in the dashboard (the store's settings table): the values in force.

        Returns the new config and the problems found; a bad stored value keeps this config's value.
        """
        values: dict[str, Any] = {}
        problems: list[str] = []
        for stored_key, key in PARENT_SETTINGS.items():
            if stored_key in stored and stored[stored_key] not in (None, "", []):
                try:
                    values[key] = convert(key, stored[stored_key], f"dashboard setting {stored_key}")
                except ConfigError as exc:
                    problems.append(str(exc))
        return self.with_values(values, DASHBOARD), problems

    def helplines(self) -> Helplines:
        """The country's child helpline and emergency number (for "other", the numbers given; Vietnam's
        when "other" lacks one of them)."""
        try:
            return helplines_for(self.help.country, self.help.child_line, self.help.emergency)
        except HelplineError:
            return COUNTRIES[DEFAULT_COUNTRY]


# The dashboard's settings-table keys that override config keys (parent_ui/settings.py writes them, the
# proxy and `notalone up` read them through Config.with_parent_settings).
PARENT_SETTINGS: dict[str, str] = {
    SettingKey.MODE: "proxy.mode",
    SettingKey.ALLOWED_CLIENTS: "proxy.home_ranges",
    SettingKey.IGNORE_HOSTS: "proxy.ignore_hosts",
    SettingKey.RETENTION_DAYS: "retention.days",
    SettingKey.COUNTRY: "help.country",
    SettingKey.CHILD_LINE: "help.child_line",
    SettingKey.EMERGENCY: "help.emergency",
}
STORED_KEY: dict[str, str] = {key: stored for stored, key in PARENT_SETTINGS.items()}


def stored_form(value: Any) -> Any:
    """A converted value as the settings table keeps it (JSON: tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


# -- introspection ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """One documented setting, as the loader, the example file and the docs see it."""

    section: str
    name: str
    default: Any
    help: str
    rule: Any

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section}_{self.name}".upper()


def sections() -> Iterator[tuple[str, type]]:
    hints = typing.get_type_hints(Config)
    for f in dataclasses.fields(Config):
        if dataclasses.is_dataclass(hints[f.name]):  # not ``origins``
            yield f.name, hints[f.name]


def keys() -> Iterator[Key]:
    for section, cls in sections():
        for f in dataclasses.fields(cls):
            yield Key(section, f.name, f.default, f.metadata["help"], f.metadata["rule"])


KEYS: dict[str, Key] = {key.dotted: key for key in keys()}


def convert(key: str, raw: object, source: str) -> Any:
    """Check ``raw`` against ``key``'s rule and return the typed value, or raise a ConfigError naming all."""
    spec = KEYS.get(key)
    if spec is None:
        raise ConfigError(f"{source}: unknown setting {key!r}; known: {', '.join(KEYS)}")
    try:
        return spec.rule.convert(raw)
    except _Invalid:
        raise ConfigError(f"{source}: {key} must be {spec.rule.describe()}, got {raw!r}") from None


# -- loading --------------------------------------------------------------------------------------------
def read_file(path: Path) -> dict[str, Any]:
    """The converted values set in a config file; an unknown section or key is an error (typos show)."""
    label = path.name
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    known_sections = dict(sections())
    for section, table in document.items():
        if section not in known_sections:
            raise ConfigError(f"{label}: unknown section [{section}]; known: {', '.join(known_sections)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{label}: {section} must be a table ([{section}]), got {table!r}")
        for name, raw in table.items():
            values[f"{section}.{name}"] = convert(f"{section}.{name}", raw, label)
    return values


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The converted values of every ``NOTALONE_<SECTION>_<KEY>`` variable that is set."""
    return {
        key.dotted: convert(key.dotted, environ[key.env_var], key.env_var)
        for key in KEYS.values()
        if key.env_var in environ
    }


def load_config(
    config_file: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, tuple[str, object]] | None = None,
) -> Config:
    """Defaults, then ``config_file`` (if it exists), then the environment, then ``overrides``.

    ``overrides`` maps ``"section.key"`` to ``(source, raw value)``, the source naming the flag that set
    it (``"--proxy-port"``) for error messages.
    """
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if config_file is not None and config_file.is_file():
        from_file = read_file(config_file)
        values |= from_file
        origins |= dict.fromkeys(from_file, config_file.name)
    environ = os.environ if environ is None else environ
    from_environment = read_environment(environ)
    values |= from_environment
    origins |= {key: KEYS[key].env_var for key in from_environment}
    origins |= _flag_origins(environ, from_environment)
    for key, (source, raw) in (overrides or {}).items():
        values[key] = convert(key, raw, source)
        origins[key] = source
    return Config().with_values(values, origins)


def _flag_origins(environ: Mapping[str, str], from_environment: Mapping[str, Any]) -> dict[str, str]:
    """The flags of ``notalone up`` behind variables it set for this process (:data:`ORIGINS_ENV`)."""
    try:
        named = json.loads(environ.get(ORIGINS_ENV, "{}"))
    except ValueError:
        return {}
    if not isinstance(named, dict):
        return {}
    return {key: str(flag) for key, flag in named.items() if key in from_environment}


def environment_for(values: Mapping[str, Any], origins: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"section.key": value}`` as the environment variables that set them, for a child process; with
    ``origins`` (the flag that set each key), the child reports those flags as where the values came from."""
    environment = {KEYS[key].env_var: _as_text(value) for key, value in values.items()}
    if origins:
        environment[ORIGINS_ENV] = json.dumps({key: origins[key] for key in values if key in origins})
    return environment


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(value)
    return str(value)


def parse_sets(items: tuple[str, ...]) -> dict[str, tuple[str, object]]:
    """``--set SECTION.KEY=VALUE`` options as :func:`load_config` overrides, each naming its flag."""
    overrides: dict[str, tuple[str, object]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set: expected SECTION.KEY=VALUE, not {item!r}")
        overrides[key.strip()] = (f"--set {key.strip()}", value)
    return overrides


# -- the example file ---------------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json.dumps(item, ensure_ascii=False) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _comment(text: str, width: int = 100) -> list[str]:
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "#"
        line += " " + word
    return [*lines, line]


def example_config() -> str:
    """A complete ``config.toml``: every key at its default, each with its documentation above it."""
    out = [
        "# NotAlone configuration. Every key is shown at its default; change what you need and restart",
        "# `notalone up`. Each key can also be set with an environment variable NOTALONE_<SECTION>_<KEY>",
        "# (e.g. NOTALONE_PROXY_PORT=8081) or a flag (`notalone up --set proxy.port=8081`), which win over",
        "# this file. Settings the parent changes in the dashboard win over all of them while NotAlone runs.",
        "# Reference: docs/configuration.md",
    ]
    for section, cls in sections():
        out += ["", *_comment(cls.__doc__ or ""), f"[{section}]"]
        for key in (k for k in KEYS.values() if k.section == section):
            out += _comment(key.help)
            out += _comment(f"Allowed: {key.rule.describe()}. Environment: {key.env_var}.")
            out.append(f"{key.name} = {_toml_value(key.default)}")
    return "\n".join(out) + "\n"


def reference_markdown() -> str:
    """The per-section tables and key descriptions of ``docs/configuration.md`` (a test keeps them equal)."""
    out: list[str] = []
    for section, cls in sections():
        keys = [k for k in KEYS.values() if k.section == section]
        out += [f"## [{section}]", "", (cls.__doc__ or "").strip(), ""]
        out += ["| Key | Default | Allowed | Environment variable |", "|---|---|---|---|"]
        out += [
            f"| `{k.name}` | `{_toml_value(k.default)}` | {k.rule.describe()} | `{k.env_var}` |" for k in keys
        ]
        out += ["", *(f"- **`{k.dotted}`**: {k.help}" for k in keys), ""]
    return "\n".join(out)


def write_example_config(path: Path) -> bool:
    """Write :func:`example_config` to ``path`` (mode 0600) unless a file is there; True if written."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(example_config())
    return True
