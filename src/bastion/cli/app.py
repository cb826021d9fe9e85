"""The ``bastion`` command line as a typer application: every command (entry point: :func:`bastion.cli.main.main`)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

import bastion
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
    typer.echo(f"bastion {bastion.__version__}")


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
    from bastion.cli import user

    app.add_typer(user.app, name="user")
    from bastion.cli import keys, policy, signer, trade

    app.command(name="signer")(signer.signer)
    app.add_typer(keys.app, name="keys")
    app.add_typer(policy.app, name="policy")
    app.command(name="trade")(trade.trade)
    app.command(name="panic")(trade.panic)
    from bastion.cli import accounts, portfolio

    app.add_typer(accounts.app, name="account")
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


def _register_backtest(sweep: bool = False) -> None:
    from bastion.cli import backtest

    # One `backtest` at a time (main() may run again in one process: tests).
    app.registered_commands[:] = [c for c in app.registered_commands if c.name != "backtest"]
    app.registered_groups[:] = [g for g in app.registered_groups if g.name != "backtest"]
    if sweep:  # `bastion backtest sweep ...`: the group; a plain backtest stays one plain command
        app.add_typer(backtest.sweep_app, name="backtest")
    else:
        app.command(name="backtest")(backtest.backtest)


def run(argv: list[str] | None, args: list[str]) -> None:
    """Parse ``args`` (``argv``, or the process's arguments when None) with typer and run the command.

    User mistakes print one clear line and exit non-zero, never a traceback. Commands end with
    ``typer.Exit(code)`` for a meaningful non-zero exit (a policy denial, a leak found); in
    non-standalone mode typer hands that code back, and it becomes the exit code.
    """
    from typer._click.exceptions import ClickException

    if args[:1] == ["backtest"]:
        _register_backtest(args[1:2] == ["sweep"])  # alone: no exchange client, database or web code
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
