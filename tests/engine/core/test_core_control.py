"""Manual control as core rules: close, cancel, add funds, stop keep/cancel/close, edit, start."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.dca import DcaBot, DcaConfig
from bastion.bots.interface import DealOutcome
from bastion.domain import OrderStatus, OrderType
from bastion.engine.core import BotStatus, StopMode
from bastion.engine.core.effects import CommandDone
from bastion.engine.core.events import (
    AddFundsCommand,
    CancelDealCommand,
    CloseDealCommand,
    EditBotCommand,
    StartBotCommand,
    StopBotCommand,
)
from bastion.engine.core.model import DealStatus
from support.core_harness import BTC_USDT, CoreHarness, dca_bot

D = Decimal
LADDER = {"safety_order_size": "20", "max_safety_orders": 2, "active_safety_orders": 2, "price_deviation_pct": "1"}


def _open(**overrides: object) -> CoreHarness:
    h = CoreHarness(dca_bot(**{**LADDER, **overrides}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.settle()
    assert sorted(h.active_legs()) == ["so1", "so2", "tp.0"]
    return h


def _done(h: CoreHarness) -> list[CommandDone]:
    return [e for e in h.effects if isinstance(e, CommandDone)]


def test_close_deal_cancels_its_orders_then_sells_at_market_and_closes_it():
    h = _open()
    h.quote("BTC/USDT", "16750")
    h._apply(CloseDealCommand(command_id=7, deal_id=1))
    deal = h.core.deals[1]
    assert deal.status is DealStatus.CLOSED
    assert deal.outcome is DealOutcome.MANUAL_CLOSE
    orders = {h.core.orders[c].tag.leg: h.core.orders[c].order for c in deal.orders}
    assert {leg: o.status for leg, o in orders.items() if leg != "base" and not leg.startswith("manual")} == {
        "so1": OrderStatus.CANCELLED,
        "so2": OrderStatus.CANCELLED,
        "tp.0": OrderStatus.CANCELLED,
    }
    sale = orders["manual.close.1"]
    assert (sale.type, sale.side, sale.amount, sale.status) == (
        OrderType.MARKET,
        "sell",
        D("0.00119"),
        OrderStatus.FILLED,
    )
    assert deal.profit_quote == (D("16750") - D("16720")) * D("0.00119")
    [done] = _done(h)
    assert done.ok
    assert done.command_id == 7
    assert "closed" in done.message
    h.settle()  # the bot opens a new deal (asap); it never saw the closing one
    assert 2 in h.core.deals


def test_close_deal_at_a_limit_price_rests_until_the_price_comes():
    h = _open()
    h._apply(CloseDealCommand(command_id=1, deal_id=1, limit_price=D("16900")))
    assert h.core.deals[1].open
    assert h.core.managed_deals(1) == []  # hidden from the bot while it closes
    h.move("BTC/USDT", "16910")
    assert h.core.deals[1].outcome is DealOutcome.MANUAL_CLOSE


def test_cancel_deal_cancels_orders_and_keeps_the_assets():
    h = _open()
    h._apply(CancelDealCommand(command_id=3, deal_id=1))
    deal = h.core.deals[1]
    assert deal.status is DealStatus.CLOSED
    assert deal.outcome is DealOutcome.MANUAL_CANCEL
    assert deal.snapshot(h.core.orders).amount == D("0.00119")  # the base it bought stays
    assert not any(h.core.orders[c].order.side == "sell" and h.core.orders[c].order.filled for c in deal.orders)


def test_commands_on_unknown_or_ended_deals_are_refused():
    h = _open()
    h._apply(CancelDealCommand(command_id=1, deal_id=99))
    h._apply(CancelDealCommand(command_id=2, deal_id=1))
    h._apply(CloseDealCommand(command_id=3, deal_id=1))
    done = _done(h)
    assert [(d.command_id, d.ok) for d in done] == [(1, False), (2, True), (3, False)]
    assert "already closed" in done[2].message


def test_add_funds_buys_more_and_the_take_profit_follows_the_new_average():
    h = _open()
    h.quote("BTC/USDT", "16500")
    h._apply(AddFundsCommand(command_id=4, deal_id=1, amount=D("0.00121")))
    assert _done(h)[0].ok
    h.settle()
    tps = [o for o in h.only_deal().orders if o.leg.startswith("tp") and o.active]
    [tp] = tps
    assert tp.leg == "tp.1"
    assert tp.amount == D("0.00240")
    average = (D("16720") * D("0.00119") + D("16500") * D("0.00121")) / D("0.00240")
    assert tp.price == (average * D("1.01") / D("0.1")).to_integral_value(rounding="ROUND_CEILING") * D("0.1")


def test_add_funds_below_the_market_minimum_is_refused_with_the_numbers():
    h = _open()
    h._apply(AddFundsCommand(command_id=5, deal_id=1, amount=D("0.0001")))
    [done] = _done(h)
    assert not done.ok
    assert "minimum" in done.message
    assert "0.0001" in done.message


def test_stop_keep_manages_open_deals_until_they_close_then_stops():
    h = _open()
    h._apply(StopBotCommand(command_id=1, bot_id=1, deals=StopMode.KEEP))
    assert h.core.bots[1].status is BotStatus.STOPPING
    h.move("BTC/USDT", "16900", high="16900")  # the take-profit fills: the bot still manages it
    h.run()
    assert h.core.deals[1].outcome is DealOutcome.TAKE_PROFIT
    assert h.core.bots[1].status is BotStatus.STOPPED
    assert len(h.core.deals) == 1  # and it opened no new deal
    assert h.core.due() == []


def test_stop_cancel_and_stop_close_end_every_open_deal():
    for mode, outcome in ((StopMode.CANCEL, DealOutcome.MANUAL_CANCEL), (StopMode.CLOSE, DealOutcome.MANUAL_CLOSE)):
        h = _open()
        h._apply(StopBotCommand(command_id=1, bot_id=1, deals=mode))
        assert h.core.deals[1].outcome is outcome
        assert h.core.bots[1].status is BotStatus.STOPPED


def test_start_runs_a_stopped_bot_again():
    h = _open()
    h._apply(StopBotCommand(command_id=1, bot_id=1, deals=StopMode.CANCEL))
    h._apply(StartBotCommand(command_id=2, bot_id=1))
    assert h.core.bots[1].status is BotStatus.RUNNING
    h.settle()
    assert 2 in h.core.deals


def _edit(h: CoreHarness, **changes: object) -> CommandDone:
    table = {"name": "btc-dca", "account": "paper", "pairs": ["BTC/USDT"], "base_order_size": "20",
             "take_profit_pct": "1", **LADDER, **changes}  # fmt: skip
    config = DcaConfig.from_mapping(table)
    h._apply(EditBotCommand(command_id=9, bot_id=1, bot=DcaBot(config), config=config, config_toml="x"))
    return _done(h)[-1]


def test_edit_applies_live_fields_and_refuses_the_others_while_deals_are_open_naming_them():
    h = _open()
    refused = _edit(h, pairs=["ETH/USDT"], direction="short")
    assert not refused.ok
    assert "pairs, direction" in refused.message
    assert "1 deal(s) are open" in refused.message
    accepted = _edit(h, take_profit_pct="2")
    assert accepted.ok
    assert "take_profit_pct" in accepted.message
    assert h.core.bots[1].config.take_profit_pct == D("2")


def test_edit_of_the_name_is_always_refused():
    h = _open()
    h._apply(StopBotCommand(command_id=1, bot_id=1, deals=StopMode.CANCEL))
    refused = _edit(h, name="other")
    assert not refused.ok
    assert "name never change" in refused.message


def test_a_stop_loss_that_disables_the_bot_leaves_it_stopped_not_running():
    h = _open(stop_loss_pct="2", stop_loss_type="stop_and_disable")
    h.move("BTC/USDT", "16300", low="16300")  # both safety orders fill on the way down, then the stop
    h.run()
    h.move("BTC/USDT", "15900", low="15900")
    h.run()
    deal = h.core.deals[1]
    assert deal.outcome is DealOutcome.STOP_LOSS
    assert h.core.bots[1].status is BotStatus.STOPPED
    assert "stop loss on deal 1" in h.core.bots[1].reason
    assert list(h.core.deals) == [1]  # no new deal
