"""``bastion portfolio``: every account's balances valued in one quote currency."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

import typer

__all__ = ["portfolio"]


def _money(value: Decimal | None, places: str = "0.01") -> str:
    return "-" if value is None else f"{value.quantize(Decimal(places)):,}"


def portfolio(
    quote: Annotated[str, typer.Option(help="Value everything in this currency (from public tickers).")] = "USDT",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the balances of every account valued in one currency: totals per exchange and per
    asset, 24 h change; paper accounts apart. Balances come from the signer, prices from the
    exchanges' public tickers."""
    from bastion.services.portfolio import portfolio as build

    result = build(quote=quote.upper())
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    q = result.quote
    change = result.change_24h_pct
    shown_change = "" if change is None else f"  ({change.quantize(Decimal('0.01')):+} % in 24 h)"
    typer.echo(f"total: {_money(result.total)} {q}{shown_change}")
    for exchange, total in result.by_exchange.items():
        typer.echo(f"  {exchange:<20} {_money(total):>18} {q}")
    typer.echo("by asset:")
    for asset, (amount, value) in result.by_asset.items():
        typer.echo(f"  {asset:<10} {format(amount.normalize(), 'f'):>20}  {_money(value):>18} {q}")
    for section, accounts in (("accounts", result.accounts), ("paper accounts (not in the total)", result.paper)):
        if not accounts:
            continue
        typer.echo(f"{section}:")
        for account in accounts:
            if account.error is not None:
                typer.echo(f"  {account.account} ({account.exchange}): {account.error}")
                continue
            typer.echo(f"  {account.account} ({account.exchange}): {_money(account.total)} {q}")
            for h in account.holdings:
                route = f"  via {' * '.join(h.route)}" if len(h.route) > 1 else ""
                typer.echo(
                    f"    {h.asset:<10} {format(h.amount.normalize(), 'f'):>20}  {_money(h.value):>18} {q}{route}"
                )
    if result.unpriced:
        typer.echo(f"no {q} price found for: {', '.join(result.unpriced)} (not counted in the total)")
