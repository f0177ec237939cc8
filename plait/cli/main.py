"""The ``plait`` command: a lazy command group so ``plait --help`` starts instantly.

Each subcommand lives in its own module that defines ``command``, a typer-annotated function whose
docstring is its help. Modules import only light things at top level (typer, pathlib); torch,
transformers and plait's models are imported inside ``command``. A test checks ``plait --help``
and each ``plait <command> --help`` leave torch unimported.

Register a command by adding one line to ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from plait.cli._common import CliError, to_cli_error

COMMANDS: dict[str, str] = {
    "demo": "plait.cli.demo",
    "encode": "plait.cli.encode",
    "evaluate": "plait.cli.evaluate",
    "index": "plait.cli.index",
    "search": "plait.cli.search",
}

HELP = """plait: late-interaction (ColBERT) retrieval.

\b
Start with `plait demo` (offline, about a minute on a laptop CPU).
Every command explains itself: plait COMMAND --help.
Set PLAIT_DEBUG=1 to see full tracebacks instead of one-line errors.
"""


def _build(name: str, module_name: str) -> click.Command:
    import typer

    module = importlib.import_module(module_name)
    app = typer.Typer(add_completion=False, rich_markup_mode=None)
    app.command(name=name)(module.command)
    command = typer.main.get_command(app)
    command.name = name
    return command


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that command is listed, asked for help or run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return _build(cmd_name, COMMANDS[cmd_name])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as error:
            if os.environ.get("PLAIT_DEBUG"):
                raise
            raise to_cli_error(error) from error


def _version() -> str:
    from plait import __version__

    return __version__


@click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=_version(), prog_name="plait")
def cli() -> None:
    """Root group (see HELP)."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: ``plait ...``. Exit codes: 0 ok, 2 bad input, 1 failure."""
    try:
        cli.main(args=argv, prog_name="plait")
    except CliError as error:  # raised outside click's own handling (should not happen)
        error.show()
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
