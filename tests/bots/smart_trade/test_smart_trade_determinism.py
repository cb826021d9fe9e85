from dataclasses import replace

from bastion.bots.interface import PlaceOrder
from bastion.bots.smart_trade import SmartTradeBot, SmartTradeConfig
from bots.grid.harness import Harness, btc_candles

CONFIG = SmartTradeConfig.from_mapping(
    {
        "name": "replay",
        "account": "main",
        "pair": "BTC/USDT",
        "amount_quote": 200,
        "trailing_buy": {"deviation_pct": "0.3"},
        "take_profit": [
            {"profit_pct": "0.5", "amount_pct": 50},
            {"profit_pct": 1, "amount_pct": 50, "trailing_deviation_pct": "0.2"},
        ],
        "stop_loss": {"loss_pct": 1, "trailing": True, "move_to_breakeven": True},
    }
)


def run() -> Harness:
    trade = Harness(SmartTradeBot(CONFIG), last="16611.9", fee_rate="0.001")
    trade.decide()
    for candle in btc_candles(300, 300):
        trade.replay(candle)
        if trade.closed:
            break
    return trade


def test_the_same_view_gives_the_same_decision_whatever_came_before(make_trade):
    trade = make_trade(trailing_buy={"deviation_pct": 1})
    trade.decide(last="16500")
    view = trade.view()
    bot = trade.bot
    first = bot.decide(view)
    bot.decide(replace(view, deals=(), now_ms=view.now_ms + 5))
    assert repr(bot.decide(view)) == repr(first)
    assert SmartTradeBot(bot.config).decide(view) == first


def test_a_replay_over_recorded_candles_enters_takes_profit_in_order_and_closes():
    trade = run()
    legs = [a.leg for d in trade.decisions for a in d.actions if isinstance(a, PlaceOrder)]
    assert legs[:2] == ["entry", "tp1"]
    assert len(legs) == len(set(legs))
    assert trade.closed == [(1, "take_profit")]


def test_replaying_the_same_candles_gives_the_same_decisions():
    assert [repr(d) for d in run().decisions] == [repr(d) for d in run().decisions]
