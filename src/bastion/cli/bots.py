"""``bastion bot``, ``bastion deal``, ``bastion order`` and ``bastion engine``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from bastion.errors import BastionError, ConfigError, ValidationError

bot_app = typer.Typer(help="Create, inspect, start and stop bots (TOML configs).", no_args_is_help=True)
deal_app = typer.Typer(help="Deals of the bots.", no_args_is_help=True)
order_app = typer.Typer(help="Orders the bots placed.", no_args_is_help=True)

DEAL_FIELDS = (
    "id",
    "bot",
    "pair",
    "status",
    "direction",
    "base_order_price",
    "safety_orders_filled",
    "avg_price",
    "take_profit_price",
    "close_price",
    "amount",
    "profit_quote",
    "opened_at",
    "closed_at",
)
ORDER_FIELDS = (
    "client_order_id",
    "exchange_order_id",
    "bot",
    "deal",
    "pair",
    "side",
    "type",
    "price",
    "amount",
    "filled",
    "status",
)


@contextmanager
def _session(*, write: bool = False) -> Iterator[Session]:
    from bastion.storage import create_engine_for, database_url, session_factory, upgrade

    engine = create_engine_for(database_url())
    try:
        upgrade(engine)
        factory = session_factory(engine)
        if write:
            with factory.begin() as session:
                yield session
        else:
            with factory() as session:
                yield session
    finally:
        engine.dispose()


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


# --------------------------------------------------------------------------- bot


@bot_app.command()
def create(config: Annotated[Path, typer.Option("--config", help="The bot's TOML file.")]) -> None:
    """Create a bot from a TOML config (validated, including the market minimums); it starts stopped."""
    from bastion.bots.registry import load_config, takes_signals
    from bastion.storage import AccountRepository, BotRepository

    try:
        text = config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {config}: {exc.strerror}") from None
    parsed = load_config(text)
    _learn_account(parsed.account)
    _check_markets(parsed)
    with _session(write=True) as session:
        account = AccountRepository(session).get(parsed.account)
        if account is None:
            raise ValidationError(
                f"account {parsed.account!r} has no key yet; add one with `bastion keys add --account {parsed.account}`"
            )
        record = BotRepository(session).create(
            parsed.name, type=parsed.type, account_id=account.id, config_toml=text, enabled=False
        )
        secret = None
        if takes_signals(parsed):
            from bastion.storage.repositories.signals import SignalRepository

            uuid, secret = SignalRepository(session).create_secret(record.id)
    typer.echo(f"created {parsed.type} bot {parsed.name} on account {parsed.account} (stopped; `bastion bot start`)")
    if secret is not None:
        typer.echo(f"webhook: POST /api/v1/signals/{uuid}")
        typer.echo(f"secret (shown once, put it in the alert message): {secret}")


def _learn_account(name: str) -> None:
    """Production layout: the account lives in the signer; learn its name, exchange and URL from it."""
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient
    from bastion.errors import SignerRefused, SignerUnavailable
    from bastion.services.accounts import sync_accounts
    from bastion.storage import AccountRepository, create_engine_for, database_url, session_factory

    with _session() as session:
        if AccountRepository(session).get(name) is not None:
            return
    try:
        with SignerClient(HomeLayout.from_env().socket, timeout=10) as signer:
            statuses = signer.call("key_status")
    except (SignerRefused, SignerUnavailable):
        return  # `bot create` then says the account has no key
    engine = create_engine_for(database_url())
    try:
        sync_accounts(session_factory(engine), statuses)
    finally:
        engine.dispose()


def _check_markets(parsed: Any) -> None:
    """Check the config against the exchange's market rules (public data)."""
    from bastion.exchanges.ccxt.adapter import CcxtExchange
    from bastion.storage import AccountRepository

    with _session() as session:
        account = AccountRepository(session).get(parsed.account)
        if account is None:
            return
    exchange = CcxtExchange(account.exchange, url=account.url)
    try:
        markets = exchange.load_markets()
        check = parsed.check_markets
        if "prices" in check.__code__.co_varnames:
            from bastion.bots.registry import pairs_of

            prices = {s: exchange.fetch_ticker(s).last for s in pairs_of(parsed) if s in markets}
            check(markets, prices={s: p for s, p in prices.items() if p is not None})
        else:
            check(markets)
    finally:
        exchange.close()


def _set_enabled(name: str, enabled: bool) -> None:
    from bastion.storage import BotRepository

    with _session(write=True) as session:
        BotRepository(session).set_enabled(name, enabled)
    typer.echo(f"bot {name} {'started: the engine runs it' if enabled else 'stopped: no new orders'}")


@bot_app.command()
def start(name: str) -> None:
    """Enable a bot (the running engine picks it up)."""
    _set_enabled(name, True)


@bot_app.command()
def delete(name: str) -> None:
    """Delete a bot that never traded."""
    from bastion.storage import BotRepository

    with _session(write=True) as session:
        BotRepository(session).delete(name)
    typer.echo(f"deleted bot {name}")


@bot_app.command(name="list")
def list_bots(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List bots: name, type, account, running or stopped, open deals."""
    from bastion.storage import AccountRepository, BotRepository, DealRepository, DealStatus

    with _session() as session:
        accounts = {a.id: a.name for a in AccountRepository(session).all()}
        rows = []
        for bot in BotRepository(session).all():
            deals = DealRepository(session).for_bot(bot.id)
            rows.append(
                {
                    "name": bot.name,
                    "type": bot.type,
                    "account": accounts.get(bot.account_id),
                    "status": bot.status + (f" ({bot.status_reason})" if bot.status_reason else ""),
                    "open_deals": sum(1 for d in deals if d.status is DealStatus.OPEN),
                    "closed_deals": sum(1 for d in deals if d.status is DealStatus.CLOSED),
                }
            )
    _print_rows(rows, ("name", "type", "account", "status", "open_deals", "closed_deals"), as_json)


@bot_app.command()
def show(name: str) -> None:
    """Show a bot's config and saved state."""
    from bastion.storage import BotRepository

    with _session() as session:
        repo = BotRepository(session)
        bot = repo.get(name)
        if bot is None:
            raise ValidationError(f"no bot named {name!r}")
        state = repo.state(name)
    typer.echo(f"bot {bot.name} ({bot.type}), {bot.status}" + (f": {bot.status_reason}" if bot.status_reason else ""))
    typer.echo(bot.config_toml.rstrip())
    if state:
        typer.echo(f"saved state: {json.dumps(state, sort_keys=True)}")


# --------------------------------------------------------------------------- deals and orders


def deal_rows(session: Session, bot: str | None) -> list[dict[str, Any]]:
    """Return the deals (of one bot, or all) as rows with :data:`DEAL_FIELDS`."""
    from bastion.storage import BotRepository, DealRepository

    bots = {b.id: b.name for b in BotRepository(session).all()}
    bot_id = None
    if bot is not None:
        bot_id = next((i for i, n in bots.items() if n == bot), None)
        if bot_id is None:
            raise ValidationError(f"no bot named {bot!r}")
    return [
        {**{f: getattr(d, f, None) for f in DEAL_FIELDS if f != "bot"}, "bot": bots.get(d.bot_id)}
        for d in DealRepository(session).all(bot_id=bot_id)
    ]


@deal_app.command(name="list")
def list_deals(
    bot: Annotated[str | None, typer.Option(help="Only this bot's deals.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List deals with prices, amounts and profit (decimal strings in --json)."""
    with _session() as session:
        rows = deal_rows(session, bot)
    _print_rows(rows, DEAL_FIELDS, as_json)


@order_app.command(name="list")
def list_orders(
    bot: Annotated[str | None, typer.Option(help="Only this bot's orders.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the bots' orders."""
    from bastion.storage import BotRepository, OrderRepository

    with _session() as session:
        bots = {b.id: b.name for b in BotRepository(session).all()}
        bot_id = None
        if bot is not None:
            bot_id = next((i for i, n in bots.items() if n == bot), None)
            if bot_id is None:
                raise ValidationError(f"no bot named {bot!r}")
        rows = [
            {
                "client_order_id": o.client_order_id,
                "exchange_order_id": o.exchange_order_id,
                "bot": bots.get(b) if b is not None else None,
                "deal": d,
                "pair": o.symbol,
                "side": o.side,
                "type": o.type.value,
                "price": o.price,
                "amount": o.amount,
                "filled": o.filled,
                "status": o.status.value,
            }
            for o, b, d, _leg in OrderRepository(session).for_bot(bot_id)
        ]
    _print_rows(rows, ORDER_FIELDS, as_json)


# --------------------------------------------------------------------------- engine


def engine(
    poll_interval: Annotated[float, typer.Option(help="Seconds between looks at the exchange.")] = 2.0,
) -> None:
    """Run the enabled bots through the signer until SIGTERM/Ctrl-C (public market data only here)."""
    import logging

    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer import AsyncSignerClient
    from bastion.engine.runner import Engine, EngineOptions
    from bastion.services.accounts import sync_accounts
    from bastion.services.notify import Notifier
    from bastion.storage import create_engine_for, database_url, session_factory, upgrade

    if not poll_interval > 0:
        raise ConfigError(f"--poll-interval must be a positive number of seconds, got {poll_interval}")
    layout = HomeLayout.from_env()
    layout.ensure()
    handler = logging.FileHandler(layout.log_dir / "engine.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("bastion")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    db = create_engine_for(database_url())
    upgrade(db)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        signer = AsyncSignerClient(layout.socket, timeout=60)
        try:  # production layout: the accounts live in the signer; keep their public part here
            sync_accounts(session_factory(db), await signer.call("key_status"))
        except BastionError as exc:
            logging.getLogger("bastion.engine").warning("accounts not learnt from the signer: %s", exc)
        runner = Engine(
            sessions=session_factory(db),
            signer=signer,
            clock=lambda: time.time_ns() // 1_000_000,
            options=EngineOptions(poll_interval_s=poll_interval),
            notifier=Notifier.from_environment(home=layout.home),
        )
        sys.stdout.write("engine running\n")
        sys.stdout.flush()
        try:
            await runner.run(stop)
        finally:
            await signer.close()

    try:
        asyncio.run(main())
    finally:
        db.dispose()
