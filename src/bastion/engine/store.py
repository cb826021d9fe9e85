"""The engine's storage side: load the core's state at start, store its effects (write-ahead).

:func:`store_effects` writes every ``Store*``/``MarkSignals``/``CommandDone`` effect of one
core step in the caller's transaction; the shell commits it before it sends any order, so an
order is always stored INITIALIZED (with its deterministic client id) before it can reach the
exchange. :func:`load_deals` rebuilds the open deals and their orders for
:class:`~bastion.engine.core.events.DealLoaded`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bastion.bots.interface import OrderRole
from bastion.engine.core import OrderTag
from bastion.engine.core.effects import (
    CommandDone,
    Effect,
    MarkSignals,
    StoreBotConfig,
    StoreBotState,
    StoreBotStatus,
    StoreDeal,
    StoreDealState,
    StoreOrder,
)
from bastion.engine.core.events import DealLoaded
from bastion.storage import (
    BotRepository,
    CommandRepository,
    DealRecord,
    DealRepository,
    DealStatus,
    OrderRepository,
    SignalRepository,
)

__all__ = ["load_deals", "store_effects"]


def _utc(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def store_effects(session: Session, effects: Iterable[Effect], account_ids: dict[str, int]) -> None:
    """Store the effects that are storage's, in order, in the caller's transaction."""
    for effect in effects:
        if isinstance(effect, StoreOrder):
            tag = effect.tag
            OrderRepository(session).save(
                effect.order,
                account_id=account_ids[tag.account],
                bot_id=tag.bot_id,
                deal_id=tag.deal_id,
                leg=tag.leg,
                role=None if tag.role is None else tag.role.value,
            )
        elif isinstance(effect, StoreDeal):
            d = effect.deal
            opened = _utc(d.opened_ms)
            assert opened is not None
            DealRepository(session).put(
                DealRecord(
                    id=d.id,
                    bot_id=d.bot_id,
                    pair=d.pair,
                    direction=d.direction,
                    status=DealStatus(d.status.value),
                    base_order_price=d.base_order_price,
                    safety_orders_filled=d.safety_orders_filled,
                    avg_price=d.avg_price,
                    take_profit_price=d.take_profit_price,
                    close_price=d.close_price,
                    amount=d.amount,
                    cost_quote=d.cost_quote,
                    profit_quote=d.profit_quote,
                    opened_at=opened,
                    closed_at=_utc(d.closed_ms),
                    outcome=None if d.outcome is None else d.outcome.value,
                )
            )
        elif isinstance(effect, StoreDealState):
            DealRepository(session).save_state(effect.deal_id, effect.values)
        elif isinstance(effect, StoreBotState):
            BotRepository(session).save_state_by_id(effect.bot_id, effect.values)
        elif isinstance(effect, StoreBotStatus):
            BotRepository(session).set_status(effect.bot_id, effect.status.value, effect.reason, enabled=effect.enabled)
        elif isinstance(effect, StoreBotConfig):
            BotRepository(session).set_config_by_id(effect.bot_id, effect.config_toml)
        elif isinstance(effect, MarkSignals):
            signals = SignalRepository(session)
            for signal_id in effect.signal_ids:
                signals.mark(int(signal_id), "handled", None)
        elif isinstance(effect, CommandDone):
            CommandRepository(session).finish(effect.command_id, ok=effect.ok, result=effect.message)


def load_deals(session: Session, account_names: dict[int, str]) -> list[DealLoaded]:
    """Every open deal with all its orders (leg and role from storage), for the core."""
    deals_repo, orders_repo, bots = DealRepository(session), OrderRepository(session), BotRepository(session)
    loaded = []
    for deal in deals_repo.all():
        if deal.status is not DealStatus.OPEN:
            continue
        assert deal.id is not None
        bot = bots.get_by_id(deal.bot_id)
        assert bot is not None
        account = account_names[bot.account_id]
        orders = tuple(
            (
                order,
                OrderTag(
                    account=account,
                    bot_id=deal.bot_id,
                    deal_id=deal.id,
                    leg=leg or order.client_order_id,
                    role=None if role is None else OrderRole(role),
                ),
            )
            for order, leg, role in orders_repo.tagged(deal.id)
        )
        loaded.append(
            DealLoaded(
                deal_id=deal.id,
                bot_id=deal.bot_id,
                pair=deal.pair,
                direction=deal.direction,
                opened_ms=_ms(deal.opened_at) or 0,
                state=deals_repo.state(deal.id),
                orders=orders,
            )
        )
    return loaded
