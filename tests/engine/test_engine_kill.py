"""kill -9 of the engine at any moment: no deal lost, no order placed twice."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from support.engine_stack import DCA, Stack, create_bot


def test_kill_9_at_any_moment_loses_no_deal_and_places_no_order_twice(stack: Stack):
    create_bot(stack, DCA, "dca1")
    for round_ in range(6):
        stack.start_engine()
        stack.sim.advance(4)
        time.sleep(0.3 + 0.15 * round_)  # kill at a different moment each round
        stack.stop_engine(signal.SIGKILL)
    stack.start_engine()
    stack.run_until(lambda: any(d["status"] == "closed" for d in stack.deals()), limit=600)
    stack.stop_engine()

    orders = stack.orders()
    on_exchange = stack.sim.orders("alice")
    client_ids = Counter(o["clientOrderId"] for o in on_exchange)
    assert all(n == 1 for n in client_ids.values()), "an order was placed twice"
    assert {o["client_order_id"] for o in orders if o["exchange_order_id"]} == set(client_ids)
    deals = stack.deals()
    assert [d["id"] for d in deals] == list(range(1, len(deals) + 1))
    assert sum(d["status"] == "open" for d in deals) <= 1
    for deal in deals:
        base_orders = [o for o in orders if o["deal"] == deal["id"] and o["client_order_id"].endswith("-base")]
        assert len(base_orders) == 1, f"deal {deal['id']} has {len(base_orders)} base orders"
    assert all(o["status"] != "initialized" for o in orders)
    assert os.path.exists(stack.home.layout.socket)
