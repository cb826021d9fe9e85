"""A DCA deal end to end: real simulator, signer and engine processes, the real CLI."""

from __future__ import annotations

import time
from decimal import Decimal

from support.engine_stack import DCA, Stack, create_bot, exchange_profit
from support.sink import json_sink


def test_a_dca_deal_averages_down_takes_profit_and_records_it_to_the_cent(stack: Stack):
    create_bot(stack, DCA, "dca1")
    (stack.home.home / "notifications.toml").write_text('anti_phishing_phrase = "heron at dawn 42"\n')
    with json_sink() as sink:
        stack.start_engine({"BASTION_NOTIFY_URLS": sink.url(), "NO_PROXY": "127.0.0.1"})
        stack.run_until(lambda: any(d["status"] == "closed" for d in stack.deals()))
        time.sleep(0.5)
    titles = [body["title"] for _, body in sink.received]
    assert all(body["message"].endswith("Anti-phishing phrase: heron at dawn 42") for _, body in sink.received)
    assert any("deal 1 opened" in t for t in titles)
    assert any("safety order so1 filled" in t for t in titles)
    assert any("deal 1 closed" in t for t in titles)
    deal = next(d for d in stack.deals(cli=True) if d["status"] == "closed")  # the CLI shows what is stored
    orders = [o for o in stack.orders(cli=True) if o["deal"] == deal["id"]]
    legs = {o["client_order_id"].split("-", 2)[2]: o for o in orders}
    assert legs["base"]["status"] == "filled"
    assert deal["safety_orders_filled"] >= 1  # the price fell through at least one safety order
    assert legs["so1"]["status"] == "filled"
    take_profit = [o for leg, o in legs.items() if leg.startswith("tp") and o["status"] == "filled"]
    assert len(take_profit) == 1
    # The take-profit is from the average entry (total): avg * 1.004, rounded up to the tick.
    avg = Decimal(deal["avg_price"])
    assert Decimal(take_profit[0]["price"]) == (avg * Decimal("1.004") / Decimal("0.1")).to_integral_value(
        rounding="ROUND_CEILING"
    ) * Decimal("0.1")
    ids = {o["exchange_order_id"] for o in orders if o["exchange_order_id"]}
    expected = exchange_profit(stack.sim, ids, Decimal(deal["close_price"]))
    assert Decimal(deal["profit_quote"]).quantize(Decimal("0.01")) == expected.quantize(Decimal("0.01"))
    assert Decimal(deal["profit_quote"]) > 0
