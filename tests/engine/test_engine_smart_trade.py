"""A SmartTrade end to end through the engine and the signer."""

from __future__ import annotations

from decimal import Decimal

from support.engine_stack import Stack, create_bot

SMART = """
name = "st1"
type = "smart_trade"
account = "alice"
pair = "BTC/USDT"
direction = "long"
amount = "0.002"
entry = {type = "market"}
take_profit = [{profit_pct = "0.5", amount_pct = 50}, {profit_pct = "1", amount_pct = 50}]
stop_loss = {loss_pct = "3"}
"""


def test_a_smart_trade_hits_its_targets_in_order(stack: Stack):
    create_bot(stack, SMART, "st1")
    stack.start_engine()
    stack.run_until(lambda: any(d["status"] == "closed" for d in stack.deals()), limit=500)
    stack.stop_engine()
    [deal] = stack.deals()
    orders = {o["client_order_id"].split("-", 2)[2]: o for o in stack.orders()}
    assert orders["tp1"]["status"] == "filled"
    assert orders["tp2"]["status"] == "filled"
    tp1_time = next(o["updateTime"] for o in stack.sim.orders("alice") if o["clientOrderId"].endswith("-tp1"))
    tp2_time = next(o["updateTime"] for o in stack.sim.orders("alice") if o["clientOrderId"].endswith("-tp2"))
    assert tp1_time <= tp2_time
    assert Decimal(orders["tp1"]["price"]) < Decimal(orders["tp2"]["price"])
    assert Decimal(deal["profit_quote"]) > 0
