"""The ``bastion`` command line."""

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


_registered = False


def _register() -> None:
    # Sub-command modules import heavy libraries; keep `bastion --help` and `version` quick by
    # registering them here, once per process: main() may run many times in one process (tests,
    # embedding), and registering again would grow the command tree typer rebuilds on every call.
    global _registered
    if _registered:
        _register_backtest()
        return
    _registered = True
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


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes print one clear line and exit non-zero, never a traceback.

    Commands end with ``typer.Exit(code)`` for a meaningful non-zero exit (a policy denial, a
    leak found); in non-standalone mode typer hands that code back, and it becomes the exit code.
    """
    from typer._click.exceptions import ClickException

    args = sys.argv[1:] if argv is None else argv
    direct = None
    if args[:1] == ["backtest"]:
        sweep = args[1:2] == ["sweep"]
        _register_backtest(sweep)  # alone: no exchange client, database or web code
        if not sweep:
            from bastion.cli import backtest
            from bastion.cli.direct import call_plainly

            direct = backtest.backtest, args[1:]  # plain options: called without typer's start-up cost
    else:
        _register()
    try:
        code = 0 if direct is not None and call_plainly(*direct) else app(args=argv, standalone_mode=False)
    except typer.Exit as exc:  # raised by a command called directly; typer returns it as the code
        code = exc.exit_code
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
