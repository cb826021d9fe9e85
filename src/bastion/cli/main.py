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
    from bastion.cli import audit, data, demo, exchange, vault

    app.add_typer(exchange.app, name="exchange")
    app.add_typer(data.app, name="data")
    app.add_typer(vault.app, name="vault")
    app.add_typer(audit.app, name="audit")
    app.command(name="demo")(demo.demo)
    from bastion.cli import web

    app.command(name="web")(web.web)
    from bastion.cli import keys, policy, signer, trade

    app.command(name="signer")(signer.signer)
    app.add_typer(keys.app, name="keys")
    app.add_typer(policy.app, name="policy")
    app.command(name="trade")(trade.trade)
    app.command(name="panic")(trade.panic)
    from bastion.cli import portfolio

    app.command(name="portfolio")(portfolio.portfolio)
    from bastion.cli import bots, control

    control.register(bots.bot_app, bots.deal_app)
    app.add_typer(bots.bot_app, name="bot")
    app.add_typer(bots.deal_app, name="deal")
    app.add_typer(bots.order_app, name="order")
    app.command(name="engine")(bots.engine)
    from bastion.cli import install

    app.command(name="install")(install.install)
    _register_backtest()


def _register_backtest() -> None:
    from bastion.cli import backtest

    app.command(name="backtest")(backtest.backtest)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes print one clear line and exit non-zero, never a traceback.

    Commands end with ``typer.Exit(code)`` for a meaningful non-zero exit (a policy denial, a
    leak found); in non-standalone mode typer hands that code back, and it becomes the exit code.
    """
    from typer._click.exceptions import ClickException

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["backtest"]:
        _register_backtest()  # alone: a backtest loads no exchange client, database or web code
    else:
        _register()
    try:
        code = app(args=argv, standalone_mode=False)
    except BastionError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        sys.exit(2)
    except typer.Abort:
        _err.print("aborted")
        sys.exit(130)
    except ClickException as exc:  # usage errors: unknown option, missing value
        exc.show()
        sys.exit(exc.exit_code)
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)
