"""The ``bastion`` command line as a typer application: every command (entry point: :func:`bastion.cli.main.main`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from importlib import import_module

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


def _add_group(module: str, name: str, attr: str = "app") -> None:
    app.add_typer(getattr(import_module(f"bastion.cli.{module}"), attr), name=name)


def _add_command(module: str, name: str, function: str) -> None:
    app.command(name=name)(getattr(import_module(f"bastion.cli.{module}"), function))


def _add_bots() -> None:
    from bastion.cli import bots, control

    control.register(bots.bot_app, bots.deal_app)
    app.add_typer(bots.bot_app, name="bot")
    app.add_typer(bots.deal_app, name="deal")
    app.add_typer(bots.order_app, name="order")
    app.command(name="engine")(bots.engine)


#: Every top-level command, in the order ``bastion --help`` lists them, with what registers it.
#: Sub-command modules import heavy libraries, so a command line registers only the entry it
#: names (``bastion policy set`` never loads the bots or the web stack); ``--help``, no command
#: or an unknown one registers all of them.
_ENTRIES: dict[str, Callable[[], None]] = {
    "exchange": partial(_add_group, "exchange", "exchange"),
    "data": partial(_add_group, "data", "data"),
    "vault": partial(_add_group, "vault", "vault"),
    "audit": partial(_add_group, "audit", "audit"),
    "demo": partial(_add_command, "demo", "demo", "demo"),
    "web": partial(_add_command, "web", "web", "web"),
    "user": partial(_add_group, "user", "user"),
    "signer": partial(_add_command, "signer", "signer", "signer"),
    "keys": partial(_add_group, "keys", "keys"),
    "policy": partial(_add_group, "policy", "policy"),
    "trade": partial(_add_command, "trade", "trade", "trade"),
    "panic": partial(_add_command, "trade", "panic", "panic"),
    "account": partial(_add_group, "accounts", "account"),
    "portfolio": partial(_add_command, "portfolio", "portfolio", "portfolio"),
    "bot": _add_bots,
    "deal": _add_bots,
    "order": _add_bots,
    "engine": _add_bots,
    "install": partial(_add_command, "install", "install", "install"),
}
_ORDER = ["version", *_ENTRIES, "backtest"]
_registered: set[Callable[[], None]] = set()


def _register(command: str | None = None) -> None:
    """Register ``command``'s entry, or every entry when ``command`` is not one of them.

    (Typer runs an application with a single command as that command, so ``version`` alone is
    never all there is: it registers every entry too.)

    Each entry is registered once per process: main() may run many times in one process
    (tests, an embedding program), and registering again would grow the command tree typer
    rebuilds on every call.
    """
    wanted = [_ENTRIES[command]] if command in _ENTRIES else list(dict.fromkeys(_ENTRIES.values()))
    for entry in wanted:
        if entry not in _registered:
            _registered.add(entry)
            entry()
    if command not in _ENTRIES:
        _register_backtest()

    def rank(name: str | None) -> int:
        return _ORDER.index(name) if name in _ORDER else len(_ORDER)

    app.registered_commands.sort(key=lambda c: rank(c.name or getattr(c.callback, "__name__", None)))
    app.registered_groups.sort(key=lambda g: rank(g.name))


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
        _register(args[0] if args else None)
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
