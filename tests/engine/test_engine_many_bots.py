"""Several bots on one account, end to end: an RSI DCA bot, two grids on two pairs whose exchange ids
collide, and an oversized DCA bot. The engine stays up, every exchange order matches Bastion's record,
the oversized bot is refused or paused, and the account stays ACTIVE."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.engine_stack import Stack
from support.simulator import SimulatorProcess, bundled_csv, make_key

RSI_DCA = """
name = "rsi1"
type = "dca"
account = "alice"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
max_safety_orders = 1
active_safety_orders = 1
price_deviation_pct = "0.3"
take_profit_pct = "0.3"
start_condition = {type = "rsi", period = 14, timeframe = "5m", threshold = 70}
"""
GRID_BTC = """
name = "grid-btc"
type = "grid"
account = "alice"
pair = "BTC/USDT"
lower_price = "16600"
upper_price = "16840"
grid_count = 6
investment_quote = "300"
"""
GRID_ETH = """
name = "grid-eth"
type = "grid"
account = "alice"
pair = "ETH/USDT"
lower_price = "1440"
upper_price = "1500"
grid_count = 6
investment_quote = "300"
"""
OVERSIZED = """
name = "big"
type = "dca"
account = "alice"
pairs = ["BTC/USDT"]
base_order_size = "20000"
take_profit_pct = "1"
"""
#: The simulator's order status -> Bastion's.
STATUS = {
    "NEW": "accepted",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "cancelled",
    "EXPIRED": "expired",
    "REJECTED": "rejected",
}


def _eth_usdt(path: Path) -> Path:
    """ETH/USDT candles: the bundled ETH/BTC moves at BTC/USDT's price level, on BTC/USDT's clock."""
    btc = bundled_csv("BTC/USDT").read_text().splitlines()
    eth = bundled_csv("ETH/BTC").read_text().splitlines()
    rows = [btc[0]]
    for b, e in zip(btc[1:], eth[1:], strict=False):
        stamp = b.split(",")[0]
        prices = [(Decimal(x) * 16720).quantize(Decimal("0.01")) for x in e.split(",")[1:5]]
        rows.append(",".join([stamp, *map(str, prices), e.split(",")[5]]))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    keys = [make_key("alice", {"USDT": "10000", "BTC": "0", "ETH": "0"})]
    markets = {"BTC/USDT": bundled_csv("BTC/USDT"), "ETH/USDT": _eth_usdt(tmp_path / "ETH_USDT-5m.csv")}
    with BastionHome() as home, SimulatorProcess(tmp_path, markets=markets, speed=0, keys=keys) as sim:
        home.init_vault()
        home.start_signer()
        assert home.add_key("alice", sim).returncode == 0
        home.allow("alice", "BTC/USDT", "ETH/USDT", max_order_notional="1000")
        running = Stack(home, sim)
        try:
            yield running
        finally:
            running.stop_engine()
            running.close_db()


def _orders_match(stack: Stack) -> list[dict]:
    """Every order the exchange has matches Bastion's record: identity, status, amount filled."""
    ours = {o["client_order_id"]: o for o in stack.orders()}
    theirs = stack.sim.orders("alice")
    assert theirs
    for order in theirs:
        mine = ours[order["clientOrderId"]]
        assert (mine["pair"].replace("/", ""), mine["exchange_order_id"]) == (order["symbol"], str(order["orderId"]))
        assert mine["status"] == STATUS[order["status"]], (mine, order)
        assert Decimal(mine["filled"]) == Decimal(order["executedQty"]), (mine, order)
    return theirs


def _create(stack: Stack, toml: str, name: str) -> bool:
    path = stack.home.home / f"{name}.toml"
    path.write_text(toml)
    created = stack.home.cli("bot", "create", "--config", str(path))
    if created.returncode != 0:
        return False  # refused at create (pre-flight against the policy)
    stack.home.ok("bot", "start", name)
    return True


def test_four_bots_on_one_account_keep_the_engine_up_and_the_records_exact(stack: Stack):
    for toml, name in ((RSI_DCA, "rsi1"), (GRID_BTC, "grid-btc"), (GRID_ETH, "grid-eth")):
        assert _create(stack, toml, name), name
    oversized_created = _create(stack, OVERSIZED, "big")
    stack.start_engine()
    stack.run_until(
        lambda: (
            {d["bot"] for d in stack.deals()} >= {"rsi1", "grid-btc", "grid-eth"}
            and any(
                o["status"] == "filled" and o["bot"].startswith("grid") and "-L" in o["client_order_id"]
                for o in stack.orders()
            )
        ),
        step=2,
        limit=200,
    )
    time.sleep(2.0)  # the replay stands still: let the engine see the last fills and cancels
    assert stack.engine is not None
    assert stack.engine.poll() is None, "the engine stopped"

    theirs = _orders_match(stack)
    by_symbol: dict[str, set[str]] = {}
    for order in theirs:
        by_symbol.setdefault(order["symbol"], set()).add(str(order["orderId"]))
    assert by_symbol["BTCUSDT"] & by_symbol["ETHUSDT"], "the two pairs' exchange ids should collide"

    bots = stack.bots()
    assert bots["rsi1"].status == "running"
    assert bots["grid-btc"].status == "running"
    assert bots["grid-eth"].status == "running"
    if oversized_created:
        assert bots["big"].status == "paused", bots["big"]
        assert "policy_denied" in (bots["big"].status_reason or "")
        big_orders = [o for o in stack.orders() if o["bot"] == "big"]
        assert len(big_orders) == 1, "a paused bot does not retry its denied order"
    listed = stack.home.ok("bot", "list", "--json").stdout
    assert "paused" in listed or not oversized_created

    # Manual control from the CLI, applied by the running engine through the command queue.
    rsi_deal = next(d for d in stack.deals() if d["bot"] == "rsi1" and d["status"] == "open")
    closed = stack.home.ok("deal", "close", str(rsi_deal["id"]), "--wait", "60").stdout
    assert f"deal {rsi_deal['id']} closed" in closed, closed
    stopped = stack.home.ok("bot", "stop", "grid-eth", "--deals", "cancel", "--wait", "60").stdout
    assert "cancelling 1 open deal(s)" in stopped, stopped
    for _ in range(60):
        if stack.bots()["grid-eth"].status == "stopped":
            break
        time.sleep(0.5)
    assert stack.bots()["grid-eth"].status == "stopped"
    deals = {d["id"]: d for d in stack.deals()}
    assert deals[rsi_deal["id"]]["outcome"] == "manual_close"
    assert next(d for d in deals.values() if d["bot"] == "grid-eth")["outcome"] == "manual_cancel"
    time.sleep(1.0)
    _orders_match(stack)
    assert not [o for o in stack.sim.orders("alice") if o["symbol"] == "ETHUSDT" and o["status"] == "NEW"]
    assert stack.engine.poll() is None, "the engine stopped"

    shown = json.loads(stack.home.ok("policy", "show", "--account", "alice", "--json").stdout)
    assert str(shown["state"]).lower() == "active"
