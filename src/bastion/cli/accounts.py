"""``bastion account``: paper accounts (``add --paper``) and the list of every account, live or PAPER.

A live account comes from its key (``bastion keys add``, in the signer); a paper account has no
key at all: its orders are matched in the engine against the exchange's public market data.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bastion.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(help="Accounts: add a PAPER account, list every account.", no_args_is_help=True)


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="The account's name (bots name it in `account = ...`).")],
    paper: Annotated[bool, typer.Option("--paper", help="A paper account (the only kind added here).")] = False,
    exchange: Annotated[str | None, typer.Option("--exchange", help="ccxt exchange id, such as binance.")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="The exchange's URL when not its own (the simulator).")
    ] = None,
    balance: Annotated[
        list[str] | None, typer.Option("--balance", help="ASSET=AMOUNT starting balance (repeatable), e.g. USDT=10000.")
    ] = None,
) -> None:
    """Add a PAPER account: every bot command works on it; orders are matched in process, never sent."""
    from bastion.cli.backtest import parse_balance
    from bastion.services.accounts import add_paper_account

    if not paper:
        raise ConfigError(
            "only paper accounts are added here: use --paper; a live account comes with its key "
            f"(`bastion keys add --account {name} --exchange ID`)"
        )
    if exchange is None:
        raise ConfigError("a paper account needs --exchange ID (a ccxt id such as binance) for its market data")
    balances = dict(parse_balance(b) for b in balance or ())
    record = add_paper_account(name, exchange, url=url, balances=balances)
    shown = ", ".join(f"{a} {format(v, 'f')}" for a, v in sorted(balances.items()))
    typer.echo(f"added PAPER account {record.name} on {record.exchange}: {shown}")


@app.command(name="list")
def list_accounts(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List accounts: name, exchange, mode (PAPER or live), state, paper balances."""
    from bastion.services.accounts import account_rows

    rows = [
        {
            "name": r.name,
            "exchange": r.exchange,
            "url": r.url,
            "mode": r.mode,
            "state": r.state,
            "balances": {a: format(v, "f") for a, v in sorted(r.balances.items())},
        }
        for r in account_rows()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no account yet: `bastion keys add` (live) or `bastion account add NAME --paper` (paper)")
        return
    for r in account_rows():
        balances = " ".join(f"{a}={format(v, 'f')}" for a, v in sorted(r.balances.items()))
        typer.echo(f"{r.name}  {r.exchange}  {r.mode}  {r.state}  {balances}".rstrip())
