"""``bastion bot``, ``bastion deal``, ``bastion order`` and ``bastion engine``.

Every command calls :mod:`bastion.services`; nothing here touches a repository.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.errors import ConfigError

bot_app = typer.Typer(help="Create, inspect, start and stop bots (TOML configs).", no_args_is_help=True)
deal_app = typer.Typer(help="Deals of the bots.", no_args_is_help=True)
order_app = typer.Typer(help="Orders the bots placed.", no_args_is_help=True)


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def _print_rows(rows: list[dict[str, Any]], fields: tuple[str, ...], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([{f: _text(r[f]) for f in fields} for r in rows], indent=2))
        return
    if not rows:
        typer.echo("nothing yet")
        return
    table = [[str(_text(r[f]) if r[f] is not None else "-") for f in fields] for r in rows]
    widths = [max(len(f), *(len(row[i]) for row in table)) for i, f in enumerate(fields)]
    typer.echo("  ".join(f.ljust(w) for f, w in zip(fields, widths, strict=True)))
    for row in table:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _warn(lines: tuple[str, ...]) -> None:
    for line in lines:
        typer.echo(f"warning: {line}", err=True)


def _fields_help() -> str:
    # Generated from the config classes, so it cannot drift from what the loader accepts.
    from bastion.bots.registry import BOT_TYPES
    from bastion.services.bots import config_fields

    parts = [
        "Create a bot from a TOML config; it starts stopped.",
        "The config is checked against the exchange's market rules, and every order it can produce "
        "(base and safety orders, grid levels, entries) against the account's policy and free balance "
        "(through the signer). `bastion bot template TYPE` prints a commented example.",
    ]
    for kind in BOT_TYPES:
        lines = [f"{name} ({kind_of}, {default})" for name, kind_of, default in config_fields(kind)]
        parts.append(f"Fields of type = {kind!r}: " + "; ".join(lines) + ".")
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- bot


def create(config: Annotated[Path, typer.Option("--config", help="The bot's TOML file.")]) -> None:
    from bastion.services import bots

    created = bots.create_bot(bots.read_config_file(config))
    _warn(created.warnings)
    typer.echo(
        f"created {created.type} bot {created.name} on account {created.account} (stopped; `bastion bot start`)"
    )
    if created.webhook_secret is not None:
        typer.echo(f"webhook: POST /api/v1/signals/{created.webhook_uuid}")
        typer.echo(f"secret (shown once, put it in the alert message): {created.webhook_secret}")


bot_app.command(help=_fields_help())(create)


@bot_app.command()
def template(
    kind: Annotated[str, typer.Argument(metavar="TYPE", help="dca, dca_rsi, grid, smart_trade or signal.")],
) -> None:
    """Print a commented example config (save it, edit it, `bastion bot create --config FILE`)."""
    from bastion.services.bots import template as text

    typer.echo(text(kind), nl=False)


@bot_app.command()
def export(name: str) -> None:
    """Print a bot's TOML config as stored."""
    from bastion.services.bots import export_bot

    typer.echo(export_bot(name).rstrip())


@bot_app.command()
def start(name: str) -> None:
    """Check the bot against the policy and balance again, then enable it (the running engine picks it up)."""
    from bastion.services.bots import start_bot

    started = start_bot(name)
    typer.echo(f"bot {started.name} started: the engine runs it")
    _warn(started.warnings)


@bot_app.command()
def delete(name: str) -> None:
    """Delete a bot that never traded."""
    from bastion.services.bots import delete_bot

    delete_bot(name)
    typer.echo(f"deleted bot {name}")


@bot_app.command(name="list")
def list_bots(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List bots: name, type, account, state (and why), open and closed deals."""
    from bastion.services.bots import list_bots as summaries

    rows = [
        {
            "name": b.name,
            "type": b.type,
            "account": b.account,
            "status": b.state.name,
            "reason": b.state.reason,
            "open_deals": b.open_deals,
            "closed_deals": b.closed_deals,
            "mode": "PAPER" if b.paper else "live",
        }
        for b in summaries()
    ]
    fields = ("name", "type", "account", "mode", "status", "reason", "open_deals", "closed_deals")
    _print_rows(rows, fields, as_json)


@bot_app.command()
def show(name: str) -> None:
    """Show a bot's state, config and saved state."""
    from bastion.services.bots import show_bot

    detail = show_bot(name)
    bot = detail.summary
    paper = " (PAPER)" if bot.paper else ""
    typer.echo(f"bot {bot.name} ({bot.type}) on account {bot.account}{paper}: {bot.state}")
    typer.echo(f"deals: {bot.open_deals} open, {bot.closed_deals} closed")
    typer.echo(detail.config_toml.rstrip())
    if detail.saved_state:
        typer.echo(f"saved state: {json.dumps(detail.saved_state, sort_keys=True)}")


# --------------------------------------------------------------------------- deals and orders


@deal_app.command(name="list")
def list_deals(
    bot: Annotated[str | None, typer.Option(help="Only this bot's deals.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List deals with prices, amounts and profit (decimal strings in --json); mode PAPER or live."""
    from bastion.services.deals import LISTED_DEAL_FIELDS, deal_rows

    _print_rows(deal_rows(bot), LISTED_DEAL_FIELDS, as_json)


@deal_app.command(name="show")
def show_deal(
    deal_id: Annotated[int, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one deal and its orders."""
    from bastion.services.deals import DEAL_FIELDS, ORDER_FIELDS
    from bastion.services.deals import show_deal as one

    deal, orders = one(deal_id)
    if as_json:
        payload = {
            "deal": {f: _text(deal[f]) for f in DEAL_FIELDS},
            "orders": [{f: _text(o[f]) for f in ORDER_FIELDS} for o in orders],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    for field in DEAL_FIELDS:
        value = deal[field]
        typer.echo(f"{field + ':':<22}{'-' if value is None else _text(value)}")
    typer.echo("")
    _print_rows(orders, ORDER_FIELDS, False)


@order_app.command(name="list")
def list_orders(
    bot: Annotated[str | None, typer.Option(help="Only this bot's orders.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the bots' orders."""
    from bastion.services.deals import ORDER_FIELDS, order_rows

    _print_rows(order_rows(bot), ORDER_FIELDS, as_json)


# --------------------------------------------------------------------------- engine


def engine(
    poll_interval: Annotated[float, typer.Option(help="Seconds between looks at the exchange.")] = 2.0,
    feed: Annotated[bool, typer.Option("--feed/--no-feed", help="Print one line per event.")] = True,
) -> None:
    """Run the enabled bots through the signer until SIGTERM/Ctrl-C (public market data only here).

    One engine per database: a second one refuses to start and names the running one. Events
    (deal opened, safety order filled, deal closed with its profit, a bot paused or in error)
    print one line each; everything goes to logs/engine.log too.
    """
    from bastion.services.engine_run import run_engine

    if not poll_interval > 0:
        raise ConfigError(f"--poll-interval must be a positive number of seconds, got {poll_interval}")
    run_engine(poll_interval_s=poll_interval, feed=feed)
