"""The command line's options: each has help, and options of the same kind are typed alike everywhere."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from notalone.cli import COMMANDS, main
from notalone.config import KEYS

# `notalone alerts` belongs to the alerts engineer's area (notalone/commands/alerts.py), checked there.
OTHERS = frozenset({"alerts"})


def commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(main)
    found = []
    for name in sorted(set(COMMANDS) - OTHERS):
        command = main.get_command(ctx, name)
        assert command is not None
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
    return found


def options() -> list[tuple[str, click.Option]]:
    return [(name, p) for name, c in commands() for p in c.params if isinstance(p, click.Option)]


@pytest.mark.parametrize(("command", "option"), options(), ids=lambda v: getattr(v, "name", v))
def test_every_option_has_help(command: str, option: click.Option) -> None:
    assert option.help, f"notalone {command} {option.opts[0]} has no help text"


def test_ports_are_integers_and_modes_a_choice_in_every_command() -> None:
    ports = [(c, o) for c, o in options() if o.name and o.name.endswith("port")]
    modes = [(c, o) for c, o in options() if o.name == "mode"]
    assert {c for c, _ in ports} >= {"up", "proxy", "dashboard"}
    for command, option in ports:
        assert isinstance(option.type, click.IntRange), (command, option.opts)
        assert (option.type.min, option.type.max) == (1, 65535), (command, option.opts)
    assert {c for c, _ in modes} == {"up", "proxy"}
    for command, option in modes:
        assert isinstance(option.type, click.Choice), command
        assert tuple(option.type.choices) == KEYS["proxy.mode"].rule.options, command


def test_a_bad_port_or_mode_is_refused_by_up_before_anything_starts(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["up", "--data-dir", str(tmp_path), "--proxy-port", "http"])
    assert result.exit_code == 2 and "'http' is not a valid integer" in result.output
    result = runner.invoke(main, ["up", "--data-dir", str(tmp_path), "--mode", "strict"])
    assert result.exit_code == 2 and "'strict' is not one of 'monitor', 'warn', 'block'" in result.output
    assert not (tmp_path / "notalone.db").exists()
