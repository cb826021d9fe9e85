from decimal import Decimal

import pytest

from bastion.bots.smart_trade import Entry, SmartTradeConfig, StopLoss, TakeProfitStep, TrailingBuy
from bastion.errors import ConfigError
from bots.grid.harness import BTC_USDT

BASE = {
    "name": "btc-swing",
    "type": "smart_trade",
    "account": "main",
    "pair": "BTC/USDT",
    "amount_quote": 100,
    "take_profit": [{"profit_pct": 1, "amount_pct": 50}, {"profit_pct": 2, "amount_pct": 50}],
}


def config(**changes: object) -> SmartTradeConfig:
    return SmartTradeConfig.from_mapping({**BASE, **changes})


def test_full_table_reads_into_typed_parts():
    trade = config(
        entry={"type": "conditional", "trigger_price": 16800.5, "order_type": "market"},
        trailing_buy={"deviation_pct": 0.5},
        take_profit=[
            {"profit_pct": 1, "amount_pct": 30},
            {"profit_pct": "1.5", "amount_pct": 30},
            {"profit_pct": 2.5, "amount_pct": 40, "trailing_deviation_pct": 0.3},
        ],
        stop_loss={"loss_pct": 2, "timeout_s": 60, "trailing": True, "move_to_breakeven": True},
    )
    assert trade.direction == "long"
    assert trade.amount is None
    assert trade.amount_quote == Decimal(100)
    assert trade.entry == Entry(type="conditional", trigger_price=Decimal("16800.5"))
    assert trade.trailing_buy == TrailingBuy(deviation_pct=Decimal("0.5"))
    assert trade.take_profit[2] == TakeProfitStep(
        profit_pct=Decimal("2.5"), amount_pct=Decimal(40), trailing_deviation_pct=Decimal("0.3")
    )
    assert trade.stop_loss == StopLoss(loss_pct=Decimal(2), timeout_s=60, trailing=True, move_to_breakeven=True)


def test_defaults_are_a_market_entry_without_trailing():
    trade = config()
    assert trade.entry == Entry(type="market")
    assert trade.trailing_buy is None
    assert trade.stop_loss is None


def test_conditional_limit_price_defaults_to_the_trigger():
    trade = config(entry={"type": "conditional", "trigger_price": 16500, "order_type": "limit"})
    assert trade.entry.price == Decimal(16500)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amont": 1}, r"unknown field 'amont' in smart_trade config; valid fields: .*amount, amount_quote"),
        ({"entry": {"type": "limit", "price": 1, "trigger": 2}}, r"unknown field 'trigger' in entry"),
        ({"entry": {"type": "market", "price": 16000}}, r"unknown field 'price' in entry of type 'market'"),
        ({"entry": {"type": "stop"}}, r"entry\.type must be one of 'market', 'limit', 'conditional', got 'stop'"),
        ({"entry": {"type": "limit"}}, r"entry of type 'limit' needs a price"),
        ({"entry": {"type": "conditional"}}, r"entry of type 'conditional' needs a trigger_price"),
        (
            {"take_profit": [{"profit_pct": 1, "amount_pct": 100, "trail": 1}]},
            r"unknown field 'trail' in take_profit\[0\]",
        ),
        ({"stop_loss": {"loss_pct": 2, "timeout": 5}}, r"unknown field 'timeout' in stop_loss"),
        ({"trailing_buy": {"deviation": 1}}, r"unknown field 'deviation' in trailing_buy"),
        ({"amount": "0.01"}, "give exactly one of amount .base. or amount_quote"),
        ({"amount_quote": None}, "give exactly one of amount .base. or amount_quote"),
        ({"amount_quote": True}, "amount_quote must be a decimal number, got bool True"),
        ({"amount_quote": -5}, "amount_quote must be greater than 0, got -5"),
        ({"direction": "sideways"}, "direction must be one of 'long', 'short', got 'sideways'"),
        ({"take_profit": [{"profit_pct": 1, "amount_pct": 60}]}, "amount_pct must sum to 100, got 60"),
        ({"take_profit": [{"amount_pct": 100}]}, r"take_profit\[0\]: a take-profit step needs exactly one of price or"),
        (
            {"take_profit": [{"price": 17000, "profit_pct": 1, "amount_pct": 100}]},
            r"take_profit\[0\]: a take-profit step needs exactly one of price or profit_pct",
        ),
        (
            {"take_profit": [{"profit_pct": 1, "amount_pct": 50}, {"profit_pct": 2, "amount_pct": "x"}]},
            r"take_profit\[1\]: amount_pct must be a decimal number, got 'x'",
        ),
        ({"take_profit": [{"profit_pct": i, "amount_pct": 20} for i in range(1, 6)]}, "at most 4 steps, got 5"),
        (
            {"take_profit": [{"profit_pct": 1, "amount_pct": 50, "trailing_deviation_pct": 1},
                             {"profit_pct": 2, "amount_pct": 50}]},
            r"take_profit\[0\]\.trailing_deviation_pct: only the last step may trail",
        ),
        (
            {"take_profit": [{"price": 17000, "amount_pct": 50}, {"profit_pct": 2, "amount_pct": 50}]},
            "all give price or all give profit_pct",
        ),
        (
            {"take_profit": [{"profit_pct": 2, "amount_pct": 50}, {"profit_pct": 1, "amount_pct": 50}]},
            r"further from the entry than the one before \(higher\), got 2, 1",
        ),
        (
            {"direction": "short",
             "take_profit": [{"price": 16000, "amount_pct": 50}, {"price": 16200, "amount_pct": 50}]},
            r"\(lower\), got 16000, 16200",
        ),
        (
            {"take_profit": [{"profit_pct": 0, "amount_pct": 100}]},
            r"take_profit\[0\]: profit_pct must be a percentage in \(0, 1000\], got 0",
        ),
        (
            {"direction": "short", "take_profit": [{"profit_pct": 100, "amount_pct": 100}]},
            r"take_profit\[0\]: profit_pct must be a percentage in \(0, 100\) for a short",
        ),
        ({"stop_loss": {"price": 15000, "loss_pct": 2}}, "stop_loss needs exactly one of price or loss_pct"),
        ({"stop_loss": {"loss_pct": 100}}, r"stop_loss\.loss_pct must be a percentage in \(0, 100\), got 100"),
        ({"stop_loss": {"loss_pct": 2, "timeout_s": True}}, r"timeout_s must be an integer, got True \(bool\)"),
        ({"stop_loss": {"loss_pct": 2, "trailing": 1}}, r"stop_loss\.trailing must be true or false, got 1"),
        ({"trailing_buy": {"deviation_pct": 0}}, r"trailing_buy\.deviation_pct must be a percentage in \(0, 100\)"),
        (
            {"trailing_buy": {"deviation_pct": 1},
             "entry": {"type": "conditional", "trigger_price": 16000, "order_type": "limit"}},
            "a conditional entry with it needs order_type 'market', got 'limit'",
        ),
        (
            {"entry": {"type": "limit", "price": 16500}, "stop_loss": {"price": 16600}},
            "stop_loss.price 16600 must be below entry price 16500 for a long",
        ),
        (
            {"entry": {"type": "limit", "price": 16500},
             "take_profit": [{"price": 16400, "amount_pct": 100}]},
            r"entry price 16500 must be below take_profit\[0\]\.price 16400 for a long",
        ),
        ({"take_profit": []}, "needs take_profit steps or a stop_loss"),
        ({"name": ""}, "name must be 1-64 characters"),
        ({"type": "grid"}, "type must be one of 'smart_trade', got 'grid'"),
    ],
)  # fmt: skip
def test_invalid_configs_name_the_field_the_value_and_the_expectation(changes, message):
    with pytest.raises(ConfigError, match=message):
        config(**changes)


def test_a_short_wants_its_stop_above_the_entry():
    with pytest.raises(ConfigError, match=r"stop_loss\.price 16400 must be above entry price 16500 for a short"):
        config(direction="short", entry={"type": "limit", "price": 16500}, stop_loss={"price": 16400})


def test_stop_loss_alone_is_enough():
    assert config(take_profit=[], stop_loss={"price": 15000}).take_profit == ()


def test_check_markets_accepts_realistic_orders():
    config().check_markets({"BTC/USDT": BTC_USDT})
    config(amount_quote=None, amount="0.001", entry={"type": "limit", "price": 16500}).check_markets(
        {"BTC/USDT": BTC_USDT}
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_quote": 4}, r"entry order: about 4 USDT is below the minimum notional 5"),
        (
            {
                "amount_quote": 12,
                "take_profit": [{"profit_pct": 1, "amount_pct": 40}, {"profit_pct": 2, "amount_pct": 60}],
            },
            r"take_profit\[0\] \(40% of the position\) order: about 4\.8 USDT",
        ),
        (
            {"amount_quote": None, "amount": "0.0003", "entry": {"type": "limit", "price": 16500}},
            r"entry order: BTC/USDT: order value 4\.950000 USDT \(0\.00030 x 16500\.0\) is below the minimum notional",
        ),
        (
            {"amount_quote": None, "amount": "0.0006", "entry": {"type": "limit", "price": 16500}},
            r"take_profit\[0\] \(50% of the position\) order: .* 4\.9995.* \(0\.00030 x 16665\.0\)",
        ),
    ],
)
def test_check_markets_refuses_orders_below_the_minimums(changes, message):
    with pytest.raises(ConfigError, match=message):
        config(**changes).check_markets({"BTC/USDT": BTC_USDT})


def test_check_markets_uses_the_current_price_for_a_market_entry():
    # 0.0003 BTC is above the minimum amount, but at 16720 it is worth 5.016 USDT, and its
    # 50 % targets (0.00015 BTC) are worth about 2.5 USDT.
    trade = config(amount_quote=None, amount="0.0003")
    trade.check_markets({"BTC/USDT": BTC_USDT})
    with pytest.raises(ConfigError, match=r"take_profit\[0\] \(50% of the position\) order: .*0\.00015 x 16887\.2"):
        trade.check_markets({"BTC/USDT": BTC_USDT}, prices={"BTC/USDT": Decimal("16720")})


def test_check_markets_checks_the_stop_exit_at_the_stop_price():
    trade = config(
        amount_quote=None,
        amount="0.0003",
        take_profit=[],
        stop_loss={"loss_pct": 5},
        entry={"type": "limit", "price": 17000},
    )
    with pytest.raises(ConfigError, match=r"stop_loss exit order: .*0\.00030 x 16150\.0"):
        trade.check_markets({"BTC/USDT": BTC_USDT})


def test_check_markets_needs_the_pairs_rules():
    with pytest.raises(ConfigError, match="pair 'BTC/USDT' has no market rules"):
        config().check_markets({})
