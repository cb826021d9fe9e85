"""Manual control of deals and bots, as core rules (the CLI and web send these as commands).

* close a deal: cancel its orders; once none can fill, sell (a short: buy back) what it holds at
  market or at a limit price; close it with outcome ``manual_close`` when nothing is left to sell;
* cancel a deal: cancel its orders, keep the assets, end it with outcome ``manual_cancel``;
* add funds to a DCA deal: one more entry order (market or limit) that moves the average;
* stop a bot (``keep``: it manages its open deals until they end, and opens none; ``cancel`` or
  ``close``: each open deal as above), start it again, or edit its config.

A deal taken over by close or cancel is hidden from its bot, so the bot cannot re-place what is
being cancelled. Each command ends with one :class:`CommandDone` (refused ones at once).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from bastion.bots.interface import DealOutcome, OrderRole
from bastion.domain import OrderStatus, OrderType
from bastion.engine.core.edits import changed_fields, refused_fields
from bastion.engine.core.effects import CommandDone, Effect, RequestCancel, StoreBotConfig
from bastion.engine.core.events import (
    AddFundsCommand,
    CancelDealCommand,
    CloseDealCommand,
    EditBotCommand,
    StartBotCommand,
    StopBotCommand,
)
from bastion.engine.core.model import BotStatus, StopMode
from bastion.engine.core.sizing import too_small
from bastion.engine.core.state import Control, DealState

if TYPE_CHECKING:
    from bastion.engine.core.core import EngineCore

__all__ = ["add_funds", "cancel_deal", "close_deal", "edit_bot", "progress", "start_bot", "stop_bot"]

#: Closing orders that may end without selling everything before the close gives up.
MAX_CLOSE_ATTEMPTS = 3
_CANCELLABLE = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


def _done(command_id: int | None, ok: bool, message: str) -> list[Effect]:
    return [] if command_id is None else [CommandDone(command_id=command_id, ok=ok, message=message)]


def _open_deal(core: EngineCore, deal_id: int) -> tuple[DealState | None, str]:
    deal = core.deals.get(deal_id)
    if deal is None:
        return None, f"deal {deal_id} is not open in the engine (unknown or already ended)"
    if not deal.open:
        return None, f"deal {deal_id} is already {deal.status.value}"
    return deal, ""


def _take_over(core: EngineCore, deal: DealState, how: Control, command_id: int | None) -> list[Effect]:
    deal.control, deal.command_id = how, command_id
    effects: list[Effect] = []
    for cid in deal.orders:
        entry = core.orders[cid]
        if entry.order.status in _CANCELLABLE:
            effects.append(RequestCancel(order=entry.order, tag=entry.tag))
    return effects + progress(core, deal)


def close_deal(core: EngineCore, command: CloseDealCommand) -> list[Effect]:
    """Close a deal: cancel its orders, then sell what it holds (market, or at the limit price)."""
    deal, problem = _open_deal(core, command.deal_id)
    if deal is None:
        return _done(command.command_id, False, problem)
    if command.limit_price is not None and command.limit_price <= 0:
        return _done(command.command_id, False, f"--limit must be a positive price, got {command.limit_price}")
    deal.limit_price = command.limit_price
    return _take_over(core, deal, Control.CLOSE, command.command_id)


def cancel_deal(core: EngineCore, command: CancelDealCommand) -> list[Effect]:
    """Cancel a deal: cancel its orders and keep the assets."""
    deal, problem = _open_deal(core, command.deal_id)
    if deal is None:
        return _done(command.command_id, False, problem)
    return _take_over(core, deal, Control.CANCEL, command.command_id)


def progress(core: EngineCore, deal: DealState) -> list[Effect]:
    """Carry a deal under manual control one step further (after any change of its orders)."""
    if not deal.open or deal.control is None:
        return []
    if any(core.orders[cid].active for cid in deal.orders):
        return []  # wait until nothing can fill any more
    if deal.control is Control.CANCEL:
        command_id = deal.command_id
        effects = core.close(deal, DealOutcome.MANUAL_CANCEL, "cancelled by hand; assets kept")
        return effects + _done(command_id, True, f"deal {deal.id} cancelled: its orders are cancelled, assets kept")
    slot = core.bots[deal.bot_id]
    market = slot.markets.get(deal.pair)
    figures = deal.figures(core.orders)
    held = figures.base_held if deal.direction == "long" else -figures.base_held
    price = core.prices.get((slot.exchange, deal.pair))
    reference = deal.limit_price or (price.last if price is not None else figures.average_entry or Decimal(0))
    amount = Decimal(market.floor_amount(max(held, Decimal(0)))) if market is not None else Decimal(0)
    if market is None or too_small(market, amount, reference) or deal.attempts >= MAX_CLOSE_ATTEMPTS:
        command_id = deal.command_id
        effects = core.close(deal, DealOutcome.MANUAL_CLOSE, "closed by hand")
        left = "" if amount <= 0 else f"; {amount} {deal.pair.split('/')[0]} left (below the market minimum)"
        return effects + _done(command_id, True, f"deal {deal.id} closed{left}")
    deal.attempts += 1
    side = "sell" if deal.direction == "long" else "buy"
    kind = OrderType.MARKET if deal.limit_price is None else OrderType.LIMIT
    return core.place(
        deal,
        leg=f"manual.close.{deal.attempts}",
        role=OrderRole.EXIT,
        side=side,
        kind=kind,
        amount=amount,
        price=deal.limit_price,
    )


def add_funds(core: EngineCore, command: AddFundsCommand) -> list[Effect]:
    """Add ``amount`` (base) to an open DCA deal at market or at ``price``."""
    deal, problem = _open_deal(core, command.deal_id)
    if deal is None:
        return _done(command.command_id, False, problem)
    slot = core.bots[deal.bot_id]
    if slot.kind != "dca":
        return _done(command.command_id, False, f"deal {deal.id} is a {slot.kind} deal; add-funds is for DCA deals")
    if deal.control is not None:
        return _done(command.command_id, False, f"deal {deal.id} is being {deal.control.value}d by hand")
    market = slot.markets.get(deal.pair)
    if market is None:
        return _done(command.command_id, False, f"no market rules for {deal.pair}")
    amount = Decimal(market.floor_amount(command.amount))
    price = None if command.price is None else Decimal(market.round_price(command.price))
    ticker = core.prices.get((slot.exchange, deal.pair))
    reference = price or (ticker.last if ticker is not None else Decimal(0))
    if too_small(market, amount, reference):
        return _done(
            command.command_id,
            False,
            f"--amount {command.amount} is below {deal.pair}'s minimum (amount {market.min_amount}, "
            f"notional {market.min_notional}) at {reference}",
        )
    n = 1 + sum(1 for cid in deal.orders if core.orders[cid].tag.role is OrderRole.ADD_FUNDS)
    side = "buy" if deal.direction == "long" else "sell"
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    effects = core.place(
        deal, leg=f"add.{n}", role=OrderRole.ADD_FUNDS, side=side, kind=kind, amount=amount, price=price
    )
    where = "at market" if price is None else f"at {price}"
    return effects + _done(command.command_id, True, f"deal {deal.id}: {side} {amount} {where} added")


def stop_bot(core: EngineCore, command: StopBotCommand) -> list[Effect]:
    """Stop a bot; its open deals are kept (managed until they end), cancelled or closed."""
    slot = core.bots.get(command.bot_id)
    if slot is None:
        return _done(command.command_id, False, f"bot {command.bot_id} is not loaded in the engine")
    deals = core.open_deals(slot.id)
    effects: list[Effect] = []
    if command.deals is StopMode.KEEP:
        effects += core.set_status(slot, BotStatus.STOPPING if deals else BotStatus.STOPPED, "stopped by hand")
        message = (
            f"bot {slot.name} stopping: {len(deals)} open deal(s) managed until they end"
            if deals
            else (f"bot {slot.name} stopped")
        )
        return effects + _done(command.command_id, True, message)
    effects += core.set_status(slot, BotStatus.STOPPING, f"stopped by hand ({command.deals.value} deals)")
    how = Control.CANCEL if command.deals is StopMode.CANCEL else Control.CLOSE
    for deal in deals:
        if deal.control is None:
            deal.limit_price = None
            effects += _take_over(core, deal, how, None)
    effects += core.settle_stopping(slot)
    verb = "cancelling" if how is Control.CANCEL else "closing"
    return effects + _done(command.command_id, True, f"bot {slot.name} stopping: {verb} {len(deals)} open deal(s)")


def start_bot(core: EngineCore, command: StartBotCommand) -> list[Effect]:
    """Run a stopped, stopping, paused or failed bot again."""
    slot = core.bots.get(command.bot_id)
    if slot is None:
        return _done(command.command_id, False, f"bot {command.bot_id} is not loaded in the engine")
    slot.failures, slot.retry_at_ms, slot.rejections, slot.dirty = 0, None, [], True
    effects = core.set_status(slot, BotStatus.RUNNING, "")
    return effects + _done(command.command_id, True, f"bot {slot.name} running")


def edit_bot(core: EngineCore, command: EditBotCommand) -> list[Effect]:
    """Replace the config; refuse (naming them) fields that may not change now."""
    slot = core.bots.get(command.bot_id)
    if slot is None:
        return _done(command.command_id, False, f"bot {command.bot_id} is not loaded in the engine")
    if type(command.config) is not type(slot.config):
        return _done(command.command_id, False, f"bot {slot.name} is a {slot.kind} bot; the new config is not")
    changed = changed_fields(slot.config, command.config)
    deals = core.open_deals(slot.id)
    refused = refused_fields(slot.kind, changed, deals_open=bool(deals))
    if refused:
        why = (
            "never change"
            if all(f in ("name", "type", "account") for f in refused)
            else (f"cannot change while {len(deals)} deal(s) are open")
        )
        return _done(command.command_id, False, f"bot {slot.name}: {', '.join(refused)} {why}; nothing changed")
    if not changed:
        return _done(command.command_id, True, f"bot {slot.name}: nothing changed")
    slot.bot, slot.config, slot.config_toml, slot.dirty = command.bot, command.config, command.config_toml, True
    effects: list[Effect] = [StoreBotConfig(bot_id=slot.id, config_toml=command.config_toml)]
    return effects + _done(
        command.command_id, True, f"bot {slot.name}: {', '.join(changed)} changed; new orders use them"
    )
