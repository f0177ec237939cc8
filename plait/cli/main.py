"""The ``plait`` command line (typer).

Each subcommand lives in its own module that defines ``command``, a typer-annotated function whose
docstring is its help. Command modules import only light things at top level (typer, pathlib,
plait.cli._common); torch, transformers and plait's models are imported inside ``command``, so
``plait --help`` starts instantly. ``tests/cli/test_main.py`` checks that torch stays unimported.

Register a command by adding one line to ``COMMANDS``: name -> module.
"""

from __future__ import annotations

import importlib

import typer

from plait.cli._common import handle_errors

COMMANDS: dict[str, str] = {
    "add": "plait.cli.add",
    "compare": "plait.cli.compare",
    "demo": "plait.cli.demo",
    "encode": "plait.cli.encode",
    "evaluate": "plait.cli.evaluate",
    "index": "plait.cli.index",
    "info": "plait.cli.info",
    "migrate-index": "plait.cli.migrate",
    "mine": "plait.cli.mine",
    "remove": "plait.cli.remove",
    "search": "plait.cli.search",
    "serve": "plait.cli.serve",
    "train": "plait.cli.train",
}

HELP = """plait: late-interaction (ColBERT) retrieval.

Start with `plait demo` (offline, about a minute on a laptop CPU). Every command explains itself:
plait COMMAND --help. Exit codes: 0 ok, 2 bad input, 1 failure. Set PLAIT_DEBUG=1 to see full
tracebacks instead of one-line errors.
"""


def _version(value: bool) -> None:
    if value:
        from plait import __version__

        typer.echo(f"plait {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """Return the root app with every registered command (imports each light command module)."""
    app = typer.Typer(
        help=HELP,
        add_completion=False,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        """plait: late-interaction (ColBERT) retrieval."""

    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        app.command(name=name)(handle_errors(module.command))
    return app


app = build_app()


def main() -> None:
    """Console-script entry point: ``plait ...``."""
    app(prog_name="plait")


if __name__ == "__main__":
    main()
