"""Finding 2: a market order walked a thin book far past the deviation limit the policy judged.

A 240-unit market buy on a thin allowlisted pair (THIN/USDT at 1.0000, the book 20 levels of
2, 4, ... 40 units spaced 0.0175 apart) was allowed at the touch and sent as a plain MARKET
order: it filled up to +24 % against a 2 % limit and the policy counted 240 USDT for a 269 USDT
spend. Every market order must leave the signer as a LIMIT IOC order at reference x 1.02 (on the
tick, never above), and the policy must count the notional at that cap.

Real signer process, real CLI, real simulator; the thin market is a candle file written here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.simulator import SimulatorProcess, make_key

REFERENCE = Decimal("1.0000")  # close of every THIN/USDT candle
CAP = Decimal("1.0200")  # reference x (1 + 2 %), on the 0.0001 tick


def thin_market(path: Path, candles: int = 300) -> Path:
    """Candles whose book is thin and wide: 8400 volume a candle, range 0.90 .. 1.60."""
    rows = ["timestamp_ms,open,high,low,close,volume"]
    start = 1_700_000_000_000
    for i in range(candles):
        rows.append(f"{start + i * 300_000},1.0000,1.6000,0.9000,1.0000,8400.0")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def thin(tmp_path: Path) -> Iterator[tuple[BastionHome, SimulatorProcess]]:
    keys = [make_key("alice", {"USDT": "10000"})]
    markets = [f"THIN/USDT={thin_market(tmp_path / 'thin.csv')};tick=0.0001;step=0.1"]
    with SimulatorProcess(tmp_path, markets=markets, speed=0, keys=keys) as sim, BastionHome() as home:
        home.init_vault()
        home.start_signer()
        added = home.add_key("alice", sim)
        assert added.returncode == 0, added.stderr
        home.allow("alice", "THIN/USDT")
        yield home, sim


def _spent(sim: SimulatorProcess) -> tuple[Decimal, Decimal, list[Decimal]]:
    trades = sim.trades("alice")
    prices = [Decimal(t["price"]) for t in trades]
    return (
        sum((Decimal(t["quoteQty"]) for t in trades), Decimal(0)),
        sum((Decimal(t["qty"]) for t in trades), Decimal(0)),
        prices,
    )


def test_a_market_buy_on_a_thin_book_never_fills_above_the_deviation_cap(thin):
    home, sim = thin
    with home.client() as signer:
        answer = signer.call(
            "place_order",
            account="alice",
            symbol="THIN/USDT",
            side="buy",
            type="market",
            amount=Decimal(240),
            client_order_id="f2-thin-1",
        )
        usage = signer.call("policy_show", account="alice")["usage"]
    spent, bought, prices = _spent(sim)
    assert prices, "the capped order should still buy what the book offers within 2 %"
    assert max(prices) <= REFERENCE * Decimal("1.02"), f"filled up to {max(prices)} against a cap of {CAP}"
    # It left the signer as a limit IOC at the cap, and ended EXPIRED with what it filled.
    [order] = sim.orders("alice")
    assert (order["type"], order["timeInForce"], Decimal(order["price"])) == ("LIMIT", "IOC", CAP)
    assert answer["status"] == "expired"
    assert Decimal(answer["filled"]) == bought == Decimal(6)
    assert answer["exchange_order_id"] == str(order["orderId"])
    # The policy counted the most the order could spend (240 x 1.02), never less than was spent.
    counted = Decimal(usage["notional_24h"]["USDT"])
    assert counted == Decimal(240) * CAP
    assert spent <= counted
    request = next(
        json.loads(line)["payload"]
        for line in home.layout.audit_log.read_text().splitlines()
        if json.loads(line)["kind"] == "request" and json.loads(line)["payload"].get("op") == "place_order"
    )
    assert request["decision"]["notional"] == str(Decimal(240) * CAP)
    assert request["sent_as"] == {"type": "limit", "time_in_force": "IOC", "price": "1.0200", "amount": "240"}


def test_a_market_buy_sized_in_quote_never_spends_more_than_it_counted(thin):
    home, sim = thin
    with home.client() as signer:
        answer = signer.call(
            "place_order",
            account="alice",
            symbol="THIN/USDT",
            side="buy",
            type="market",
            quote_amount=Decimal(100),
            client_order_id="f2-thin-2",
        )
        usage = signer.call("policy_show", account="alice")["usage"]
    spent, _bought, prices = _spent(sim)
    assert max(prices) <= CAP
    [order] = sim.orders("alice")
    assert Decimal(order["origQty"]) == Decimal("98")  # floor_to_lot(100 / 1.02), lot 0.1
    counted = Decimal(usage["notional_24h"]["USDT"])
    assert counted == Decimal("98") * CAP <= Decimal(100)
    assert spent <= counted
    assert answer["status"] == "expired"
