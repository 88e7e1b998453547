"""One module per group of subcommands; ``notalone.cli`` imports each only when it is used.

The options every command shares are declared here once, so they are typed and explained alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DATA_DIR_HELP = "NotAlone's data directory (default: $NOTALONE_DATA_DIR or ~/.local/share/notalone)."
CONFIG_HELP = "Settings file (default: config.toml in the data directory)."


def data_dir_option(help: str = DATA_DIR_HELP) -> Callable[[Any], Any]:
    """``--data-dir DIRECTORY``, passed as ``data_dir`` (a Path, or None for the default)."""
    return click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=help
    )


def config_option(name: str = "config_file", help: str = CONFIG_HELP) -> Callable[[Any], Any]:
    """``--config FILE``, passed as ``name`` (a Path, or None for the data directory's config.toml)."""
    return click.option(
        "--config", name, type=click.Path(dir_okay=False, path_type=Path), default=None, help=help
    )
