"""What the dashboard shows, read from the main database: P&L, open deals, alerts, a deal's chart.

Every query takes the accounts the caller may see (``account_ids``); nothing here decides who
that is (the web's authentication does). Money stays Decimal; the chart's candles go to the
browser as decimal strings, which the page hands to the charting library.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import ConfigError, ValidationError
from bastion.storage import AccountRepository, BotRepository, DealRepository, DealStatus, OrderRepository
from bastion.storage.records import AccountRecord, AccountState, BotRecord, DealRecord

__all__ = [
    "Alert",
    "ChartLine",
    "ChartMarker",
    "DealChart",
    "DealView",
    "ProfitByQuote",
    "alerts",
    "deal_chart_levels",
    "deal_views",
    "profit",
    "visible_accounts",
]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class DealView:
    """One deal as the pages list it: the stored record plus its bot's name and account."""

    deal: DealRecord
    bot: str
    bot_type: str
    account: str

    @property
    def quote(self) -> str:
        """The pair's quote currency (profit is counted in it)."""
        return self.deal.pair.split("/")[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfitByQuote:
    """Closed deals' profit per quote currency: today (UTC) and all time."""

    today: Mapping[str, Decimal]
    all_time: Mapping[str, Decimal]
    closed_today: int
    closed_all: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """Something a user should look at: a halted account, a paused or failing bot, a refused signal."""

    level: Literal["danger", "warning"]
    kind: str
    subject: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartMarker:
    """A fill on the deal's chart: when, at which price, and which leg (base, so1, tp...)."""

    ts_ms: int
    price: Decimal
    side: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartLine:
    """A price level of the deal: an open safety order, the take-profit, the stop, the average."""

    price: Decimal
    label: str
    kind: Literal["base", "safety", "take_profit", "stop", "average"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DealChart:
    """A deal's markers and levels (the candles come from the exchange's public data)."""

    deal: DealView
    markers: tuple[ChartMarker, ...]
    lines: tuple[ChartLine, ...]
    exchange: str
    url: str | None


def visible_accounts(session: Session, owned: Collection[int] | None) -> list[AccountRecord]:
    """Return the accounts whose ids are in ``owned`` (every account when ``owned`` is None)."""
    accounts = AccountRepository(session).all()
    return [a for a in accounts if owned is None or a.id in owned]


def _bots(session: Session, account_ids: Collection[int]) -> dict[int, BotRecord]:
    return {b.id: b for b in BotRepository(session).all() if b.account_id in account_ids}


def deal_views(
    sessions: sessionmaker[Session], owned: Collection[int] | None, *, status: DealStatus | None = None
) -> list[DealView]:
    """Return the deals of the visible accounts' bots, newest first (only ``status`` when given)."""
    with sessions() as session:
        accounts = {a.id: a for a in visible_accounts(session, owned)}
        bots = _bots(session, accounts)
        rows = [d for d in DealRepository(session).all() if d.bot_id in bots]
    views = [
        DealView(
            deal=d,
            bot=bots[d.bot_id].name,
            bot_type=bots[d.bot_id].type,
            account=accounts[bots[d.bot_id].account_id].name,
        )
        for d in rows
        if status is None or d.status is status
    ]
    return sorted(views, key=lambda v: v.deal.id or 0, reverse=True)


def deal_view(sessions: sessionmaker[Session], owned: Collection[int] | None, deal_id: int) -> DealView:
    """Return one deal of a visible account.

    Raises
    ------
    ValidationError
        No such deal among the accounts the caller may see (the same answer whether it does
        not exist or belongs to someone else).
    """
    with sessions() as session:
        deal = DealRepository(session).get(deal_id)
        bot = None if deal is None else BotRepository(session).get_by_id(deal.bot_id)
        accounts = {a.id: a for a in visible_accounts(session, owned)}
    if deal is None or bot is None or bot.account_id not in accounts:
        raise ValidationError(f"no deal with id {deal_id}")
    return DealView(deal=deal, bot=bot.name, bot_type=bot.type, account=accounts[bot.account_id].name)


def profit(views: Collection[DealView], *, day_start: datetime) -> ProfitByQuote:
    """Sum closed deals' profit per quote currency: since ``day_start`` (UTC midnight) and all time."""
    today: dict[str, Decimal] = {}
    all_time: dict[str, Decimal] = {}
    closed_today = closed_all = 0
    for view in views:
        deal = view.deal
        if deal.status is not DealStatus.CLOSED or deal.profit_quote is None:
            continue
        closed_all += 1
        all_time[view.quote] = all_time.get(view.quote, _ZERO) + deal.profit_quote
        closed = deal.closed_at
        if closed is not None and _aware(closed) >= day_start:
            closed_today += 1
            today[view.quote] = today.get(view.quote, _ZERO) + deal.profit_quote
    return ProfitByQuote(today=today, all_time=all_time, closed_today=closed_today, closed_all=closed_all)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def alerts(sessions: sessionmaker[Session], owned: Collection[int] | None, *, signals: int = 20) -> list[Alert]:
    """Return what needs attention on the visible accounts: halted or reducing accounts, bots
    paused or in error (with the reason the engine stored), and recently refused signals."""
    from bastion.storage.repositories.signals import SignalRepository, SignalStatus

    out: list[Alert] = []
    with sessions() as session:
        accounts = visible_accounts(session, owned)
        ids = {a.id for a in accounts}
        for account in accounts:
            if account.state is not AccountState.ACTIVE:
                out.append(
                    Alert(
                        level="danger" if account.state is AccountState.HALTED else "warning",
                        kind="account_" + account.state.value,
                        subject=f"account {account.name}",
                        message=f"the signer marks this account {account.state.value.upper()}; its orders are denied",
                    )
                )
        bots = _bots(session, ids)
        for bot in bots.values():
            if bot.status in ("paused", "error"):
                out.append(
                    Alert(
                        level="danger" if bot.status == "error" else "warning",
                        kind="bot_" + bot.status,
                        subject=f"bot {bot.name}",
                        message=bot.status_reason or bot.status,
                    )
                )
        repository = SignalRepository(session)
        for bot in bots.values():
            for signal in repository.recent(bot.id, limit=signals):
                if signal.status is SignalStatus.REFUSED:
                    out.append(
                        Alert(
                            level="warning",
                            kind="signal_refused",
                            subject=f"bot {bot.name} signal {signal.id}",
                            message=signal.reason or "refused",
                        )
                    )
    return out


def _leg_kind(leg: str | None) -> Literal["base", "safety", "take_profit", "stop"] | None:
    if leg is None:
        return None
    if leg == "base":
        return "base"
    if leg.startswith("so"):
        return "safety"
    if leg.startswith("tp"):
        return "take_profit"
    if leg.startswith("sl") or leg.startswith("stop"):
        return "stop"
    return None


def deal_chart_levels(sessions: sessionmaker[Session], owned: Collection[int] | None, deal_id: int) -> DealChart:
    """Return a deal's fills (markers) and its price levels: open orders by leg, take-profit, average, stop.

    Raises
    ------
    ValidationError
        No such deal among the visible accounts.
    """
    view = deal_view(sessions, owned, deal_id)
    markers: list[ChartMarker] = []
    lines: list[ChartLine] = []
    with sessions() as session:
        tagged = OrderRepository(session).tagged(deal_id)
        bot = BotRepository(session).get_by_id(view.deal.bot_id)
        account = AccountRepository(session).get_by_id(bot.account_id) if bot is not None else None
    for order, leg, _role in tagged:
        label = leg or order.side
        for fill in order.fills:
            markers.append(ChartMarker(ts_ms=fill.timestamp_ms, price=fill.price, side=order.side, label=label))
        kind = _leg_kind(leg)
        if kind is not None and order.price is not None and order.status.is_open and kind != "base":
            lines.append(ChartLine(price=order.price, label=label, kind=kind))
    deal = view.deal
    has_take_profit = any(line.kind == "take_profit" for line in lines)
    if deal.status is DealStatus.OPEN and deal.take_profit_price is not None and not has_take_profit:
        lines.append(ChartLine(price=deal.take_profit_price, label="take profit", kind="take_profit"))
    if deal.avg_price is not None:
        lines.append(ChartLine(price=deal.avg_price, label="average", kind="average"))
    if deal.base_order_price is not None:
        lines.append(ChartLine(price=deal.base_order_price, label="base", kind="base"))
    stop = _stop_price(bot, deal)
    if stop is not None:
        lines.append(ChartLine(price=stop, label="stop loss", kind="stop"))
    return DealChart(
        deal=view,
        markers=tuple(sorted(markers, key=lambda m: m.ts_ms)),
        lines=tuple(lines),
        exchange=account.exchange if account is not None else "",
        url=account.url if account is not None else None,
    )


def _stop_price(bot: BotRecord | None, deal: DealRecord) -> Decimal | None:
    """The DCA stop-loss level from the bot's config (percent below/above the average), if it has one."""
    if bot is None or deal.avg_price is None or deal.status is not DealStatus.OPEN:
        return None
    from bastion.bots.dca import DcaConfig
    from bastion.bots.registry import load_config

    try:
        config = load_config(bot.config_toml)
    except (ConfigError, ValidationError):  # a stored config that no longer parses has no stop to draw
        return None
    if not isinstance(config, DcaConfig) or config.stop_loss_pct == 0:
        return None
    pct = config.stop_loss_pct / Decimal(100)
    return deal.avg_price * (1 - pct) if deal.direction == "long" else deal.avg_price * (1 + pct)


def candles(
    exchange: str, url: str | None, pair: str, *, timeframe: str = "5m", limit: int = 300
) -> list[dict[str, Any]]:
    """Return the pair's recent candles from the exchange's public market data (no key), oldest first."""
    from bastion.exchanges.ccxt.adapter import CcxtExchange

    client = CcxtExchange(exchange, url=url)
    try:
        rows = client.fetch_ohlcv(pair, timeframe, limit=limit)
    finally:
        client.close()
    return [{"ts_ms": c.ts_ms, "open": c.open, "high": c.high, "low": c.low, "close": c.close} for c in rows]


def bot_counts(sessions: sessionmaker[Session], owned: Collection[int] | None) -> tuple[int, int]:
    """Return (bots running, bots in all) on the visible accounts."""
    with sessions() as session:
        ids = {a.id for a in visible_accounts(session, owned)}
        bots = _bots(session, ids)
    return sum(1 for b in bots.values() if b.status == "running"), len(bots)
