"""A PAPER account end to end: the simulator's public endpoints only, the real CLI and engine process.

The orders never reach the exchange (no key exists): the engine matches them in process with the
simulator's matching core against the candles ccxt fetches. Listings and notifications say PAPER,
and the paper balances and orders live in the Bastion database.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from support.custody import BastionHome
from support.engine_stack import DCA, Stack, create_bot
from support.simulator import SimulatorProcess, make_key
from support.sink import json_sink


def test_a_dca_bot_on_a_paper_account_opens_and_closes_a_deal_that_never_reaches_the_exchange(
    tmp_path: Path,
) -> None:
    keys = [make_key("alice", {"USDT": "10000"})]  # someone's real account there: it must see nothing
    with BastionHome() as home, SimulatorProcess(tmp_path, speed=0, keys=keys) as sim:
        refused = home.cli("account", "add", "paper1", "--exchange", "simulator", "--url", sim.url)
        assert refused.returncode != 0 and "--paper" in refused.stderr
        added = home.ok(
            "account", "add", "paper1", "--paper", "--exchange", "simulator", "--url", sim.url,
            "--balance", "USDT=1000",
        )  # fmt: skip
        assert "PAPER" in added.stdout
        (account,) = json.loads(home.ok("account", "list", "--json").stdout)
        assert (account["name"], account["mode"], account["balances"]) == ("paper1", "PAPER", {"USDT": "1000"})
        stack = Stack(home, sim)
        try:
            create_bot(stack, DCA.replace('account = "alice"', 'account = "paper1"'), "dca1")
            with json_sink() as sink:
                stack.start_engine({"BASTION_NOTIFY_URLS": sink.url(), "NO_PROXY": "127.0.0.1"})
                stack.run_until(lambda: any(d["status"] == "closed" for d in stack.deals()))
                time.sleep(0.5)
        finally:
            stack.stop_engine()
            stack.close_db()
        titles = [body["title"] for _, body in sink.received]
        assert any("deal 1 opened" in t for t in titles)
        assert any("deal 1 closed" in t for t in titles)
        assert all("[PAPER] " in t for t in titles), titles
        (bot,) = json.loads(home.ok("bot", "list", "--json").stdout)
        assert bot["mode"] == "PAPER"
        deals = json.loads(home.ok("deal", "list", "--json").stdout)
        closed = next(d for d in deals if d["status"] == "closed")
        assert closed["mode"] == "PAPER"
        assert Decimal(closed["profit_quote"]) > 0
        assert closed["safety_orders_filled"] >= 1
        # Nothing reached the exchange: the paper orders were matched in the engine.
        assert sim.orders("alice") == [] and sim.trades("alice") == []
        # The paper balances moved by the deals, as stored in the database.
        (account,) = json.loads(home.ok("account", "list", "--json").stdout)
        usdt = Decimal(account["balances"]["USDT"])
        assert usdt != Decimal(1000)
        profit = sum(Decimal(d["profit_quote"]) for d in deals if d["status"] == "closed")
        if all(d["status"] == "closed" for d in deals):
            assert usdt == Decimal(1000) + profit  # fees included, to the last digit
