"""Replays over the bundled BTC/USDT candles: many deals through every path, with the harness's checks on."""

from decimal import Decimal
from typing import Any

import pytest

from support.core_harness import BTC_USDT, Harness, dca_bot, load_candles

D = Decimal
CANDLES = load_candles()

CONFIGS: dict[str, dict[str, Any]] = {
    "long": {
        "safety_order_size": "20",
        "max_safety_orders": 4,
        "active_safety_orders": 2,
        "price_deviation_pct": "0.5",
        "safety_order_step_scale": "1.5",
        "safety_order_volume_scale": "1.5",
        "take_profit_pct": "0.8",
    },
    "long-steps-trailing-stop-timeout": {
        "safety_order_size": "20",
        "max_safety_orders": 5,
        "active_safety_orders": 2,
        "price_deviation_pct": "0.4",
        "safety_order_step_scale": "1.3",
        "safety_order_volume_scale": "1.2",
        "take_profit_pct": None,
        "take_profit_steps": [{"amount_pct": 30, "profit_pct": "0.5"}, {"amount_pct": 70, "profit_pct": "1"}],
        "trailing_enabled": True,
        "trailing_deviation_pct": "0.2",
        "stop_loss_pct": "2",
        "stop_loss_timeout_s": 600,
    },
    "short-stop": {
        "direction": "short",
        "safety_order_size": "20",
        "max_safety_orders": 3,
        "price_deviation_pct": "0.5",
        "safety_order_step_scale": "1.5",
        "take_profit_pct": "0.6",
        "stop_loss_pct": "3",
    },
    "long-limit-rsi-cooldown": {
        "base_order_type": "limit",
        "safety_order_size": "20",
        "max_safety_orders": 2,
        "price_deviation_pct": "1",
        "start_condition": {"type": "rsi", "period": 14, "timeframe": "5m", "threshold": 35},
        "stop_loss_pct": "1.5",
        "cooldown_s": 3600,
    },
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_replay_keeps_every_deal_consistent_and_decides_deterministically(name: str):
    bot = dca_bot(**CONFIGS[name])
    h = Harness(bot, {"BTC/USDT": BTC_USDT}, {"BTC/USDT": CANDLES[0].close}, fee_rate="0.001", buy_fee_in_base=True)
    for i, candle in enumerate(CANDLES[1:4000], start=1):
        h.now_ms = candle.ts_ms
        h.candles = {"BTC/USDT": tuple(CANDLES[max(0, i - 141) : i])}
        h.move("BTC/USDT", candle.close, high=candle.high, low=candle.low)
        view = h.view()
        assert bot.decide(view) == bot.decide(view)
        before = len(h.decisions)
        h.settle()  # the harness refuses a leg placed twice and a deal closed with active orders
        for decision in h.decisions[before:]:
            # A watch wakes the bot while the price is beyond it: it must lie ahead of the last price.
            for watch in decision.watch:
                assert watch.above is None or watch.above > candle.close
                assert watch.below is None or watch.below < candle.close
            assert decision.wake_at_ms is None or decision.wake_at_ms > h.now_ms
    assert len(h.closed) >= 10
    for deal in h.closed:
        # Buy fees in base leave less than a lot behind (long) or short of what was sold (short).
        assert abs(deal.base_left) < BTC_USDT.lot_step
        if deal.reason.endswith("take profit") and deal.direction == "long":
            sold_at = max(o.price or D(0) for o in deal.orders if o.side == "sell" and o.filled)
            assert deal.quote_profit + deal.base_left * sold_at > 0
        if deal.reason.endswith("take profit") and deal.direction == "short":
            assert deal.quote_profit > 0
