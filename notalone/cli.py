"""The ``notalone`` command. Subcommands live in ``notalone/commands`` and are imported only when run,
so that ``notalone score`` does not pay for importing mitmproxy or Flask."""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command.
COMMANDS: dict[str, str] = {
    "train": "notalone.commands.model:train",
    "evaluate": "notalone.commands.model:evaluate",
    "score": "notalone.commands.model:score",
    "dashboard": "notalone.commands.dashboard:dashboard",
    "proxy": "notalone.commands.proxy:proxy",
    "alerts": "notalone.commands.alerts:alerts",
    "up": "notalone.commands.up:up",
    "doctor": "notalone.commands.doctor:doctor",
    "demo": "notalone.commands.demo:demo",
    "notify": "notalone.commands.notify:notify",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module the first time the subcommand is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attr = COMMANDS[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="notalone")
def main() -> None:
    """NotAlone: a family browser-safety proxy that warns parents about scams and grooming."""
