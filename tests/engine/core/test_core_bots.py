"""Every bot type on the engine core, in memory: a whole deal from entry to close in milliseconds."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import DealOutcome, Signal
from bastion.bots.signal import SignalBot, SignalConfig
from bastion.bots.smart_trade import SmartTradeBot, SmartTradeConfig
from bastion.domain import OrderStatus
from bastion.engine.core.effects import Notify, StoreDeal
from bastion.engine.core.events import SignalsArrived
from bastion.engine.core.model import DealStatus, NotifyKind
from support.core_harness import BTC_USDT, CoreHarness, dca_bot

D = Decimal


def test_dca_deal_from_base_order_to_take_profit_with_its_figures_and_notifications():
    h = CoreHarness(dca_bot(safety_order_size="20", max_safety_orders=1, active_safety_orders=1,
                            price_deviation_pct="1"), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"},
                    fee_rate="0.001")  # fmt: skip
    h.settle()
    h.move("BTC/USDT", "16540", low="16540")  # so1 fills
    h.run()
    h.move("BTC/USDT", "16900", high="16900")  # the take-profit fills
    h.run()
    deal = h.core.deals[1]
    assert deal.status is DealStatus.CLOSED
    assert deal.outcome is DealOutcome.TAKE_PROFIT
    snapshot = [e.deal for e in h.effects if isinstance(e, StoreDeal) and e.deal.id == 1][-1]
    assert snapshot.safety_orders_filled == 1
    assert (
        snapshot.profit_quote == h.closed[0].quote_profit.quantize(D("1E-8")) + snapshot.amount * snapshot.close_price
    )
    kinds = [e.kind for e in h.effects if isinstance(e, Notify)]
    assert kinds[:3] == [NotifyKind.DEAL_OPENED, NotifyKind.SAFETY_ORDER_FILLED, NotifyKind.DEAL_CLOSED]


def test_smart_trade_hits_its_two_targets_and_closes_on_the_core():
    config = SmartTradeConfig.from_mapping(
        {
            "name": "st",
            "type": "smart_trade",
            "account": "paper",
            "pair": "BTC/USDT",
            "amount": "0.006",
            "take_profit": [{"profit_pct": 1, "amount_pct": 50}, {"profit_pct": 2, "amount_pct": 50}],
            "stop_loss": {"loss_pct": 2},
        }
    )
    h = CoreHarness(SmartTradeBot(config), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"}, kind="smart_trade")
    h.run()
    assert h.order("entry").status is OrderStatus.FILLED
    h.move("BTC/USDT", "17100", high="17100")
    h.run()
    h.move("BTC/USDT", "17100", high="17100")
    h.run()
    [closed] = h.closed
    assert closed.status is DealStatus.CLOSED
    assert h.core.deals[1].outcome is DealOutcome.TAKE_PROFIT
    assert closed.quote_profit > 0


def test_smart_trade_stop_loss_closes_with_a_stop_loss_outcome():
    config = SmartTradeConfig.from_mapping(
        {
            "name": "st",
            "type": "smart_trade",
            "account": "paper",
            "pair": "BTC/USDT",
            "amount": "0.006",
            "take_profit": [{"profit_pct": 1, "amount_pct": 100}],
            "stop_loss": {"loss_pct": 2},
        }
    )
    h = CoreHarness(SmartTradeBot(config), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"}, kind="smart_trade")
    h.run()
    h.move("BTC/USDT", "16300", low="16300")
    h.run()
    assert h.core.deals[1].outcome is DealOutcome.STOP_LOSS
    assert any(isinstance(e, Notify) and e.kind is NotifyKind.STOP_LOSS for e in h.effects)


def test_signal_bot_enters_and_exits_on_signals_through_the_core():
    bot = SignalBot(SignalConfig.from_mapping(
        {"name": "tv", "account": "paper", "pairs": ["BTC/USDT"], "order_size": "25"}))  # fmt: skip
    h = CoreHarness(bot, {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"}, kind="signal")
    h.run()
    assert h.core.deals == {}
    h.signals = [Signal(id="1", action="enter_long", pair="BTC/USDT", received_ms=h.now_ms)]
    h.core.apply(SignalsArrived(bot_id=1))
    h.run()
    assert h.order("entry").status is OrderStatus.FILLED
    h.quote("BTC/USDT", "16800")
    h.signals = [Signal(id="2", action="exit_long", pair="BTC/USDT", received_ms=h.now_ms)]
    h.core.apply(SignalsArrived(bot_id=1))
    h.run()
    assert h.core.deals[1].outcome is DealOutcome.EXIT_SIGNAL
    assert h.closed[0].quote_profit > 0
    assert h.signals == []  # handed to the bot once, then marked handled


def test_a_dca_bot_with_a_signal_start_opens_on_an_entry_and_closes_on_an_exit_signal():
    h = CoreHarness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.run()
    assert h.core.deals == {}
    h.signals = [Signal(id="1", action="enter_long", pair="BTC/USDT", received_ms=h.now_ms)]
    h.core.apply(SignalsArrived(bot_id=1))
    h.run()
    assert h.order("base").status is OrderStatus.FILLED
    h.advance(1000)
    h.signals = [Signal(id="2", action="exit_long", pair="BTC/USDT", received_ms=h.now_ms)]
    h.core.apply(SignalsArrived(bot_id=1))
    h.run()
    assert h.core.deals[1].status is DealStatus.CLOSED
    assert h.core.deals[1].outcome is DealOutcome.EXIT_SIGNAL
    assert h.signals == []
