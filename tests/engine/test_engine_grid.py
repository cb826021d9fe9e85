"""A grid bot end to end through the engine and the signer."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from support.engine_stack import Stack, create_bot

GRID = """
name = "grid1"
type = "grid"
account = "alice"
pair = "BTC/USDT"
lower_price = "16600"
upper_price = "16840"
grid_count = 8
spacing = "arithmetic"
investment_quote = "400"
"""


def _level(leg: str) -> tuple[int, str]:
    level, side, _cycle = leg[1:].split(".")
    return int(level), side


def _trips(stack: Stack) -> list[tuple[dict, dict]]:
    """Level buys at level i followed (on the exchange's clock) by a filled sell at level i + 1."""
    updated = {o["clientOrderId"]: o["updateTime"] for o in stack.sim.orders("alice")}
    filled = [o for o in stack.orders() if o["status"] == "filled" and "-L" in o["client_order_id"]]
    legs = [(_level(o["client_order_id"].split("-", 2)[2]), o) for o in filled]
    return [
        (buy, sell)
        for (buy_level, buy) in legs
        for (sell_level, sell) in legs
        if buy_level[1] == "b"
        and sell_level == (buy_level[0] + 1, "s")
        and updated[buy["client_order_id"]] <= updated[sell["client_order_id"]]
    ]


def test_a_grid_bot_completes_buy_sell_round_trips(stack: Stack):
    create_bot(stack, GRID, "grid1")
    stack.start_engine()
    stack.run_until(lambda: bool(_trips(stack)), limit=500)
    stack.stop_engine()
    [deal] = stack.deals()
    assert deal["status"] == "open"  # a grid is one long-running deal
    for order in (o for o in stack.orders() if "-L" in o["client_order_id"]):
        level, side = _level(order["client_order_id"].split("-", 2)[2])
        assert Decimal(order["price"]) == 16600 + 30 * level  # every level order rests on its level
        assert order["side"] == ("buy" if side == "b" else "sell")
    for buy, sell in _trips(stack):
        assert Decimal(sell["price"]) - Decimal(buy["price"]) == 30
        assert Decimal(sell["amount"]) <= Decimal(buy["filled"])  # it sells what that buy bought
    assert all(n == 1 for n in Counter(o["clientOrderId"] for o in stack.sim.orders("alice")).values())
