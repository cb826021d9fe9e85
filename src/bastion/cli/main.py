"""The ``bastion`` command line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from bastion import __version__
from bastion.errors import BastionError

app = typer.Typer(
    name="bastion",
    help="Self-hosted crypto trading bots whose exchange keys never leave the signer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_err = Console(stderr=True, soft_wrap=True)


@app.command()
def version() -> None:
    """Print Bastion's version."""
    typer.echo(f"bastion {__version__}")


def _register() -> None:
    # Sub-command modules import heavy libraries; keep `bastion --help` and `version` quick by
    # registering them here, once.
    from bastion.cli import data, demo, exchange

    app.add_typer(exchange.app, name="exchange")
    app.add_typer(data.app, name="data")
    app.command(name="demo")(demo.demo)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes print one clear line and exit non-zero, never a traceback."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except BastionError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        sys.exit(2)
    except typer.Abort:
        _err.print("aborted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
