"""The leak scan on an exchange that pages own trades by time, newest first (KuCoin): every trade
is read once, however many share a millisecond at a page boundary, and ids need not be numbers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from bastion.custody.signer.leak import LeakScan, SentOrders
from bastion.exchanges.port import Balance, OrderSnapshot, Trade


class NewestFirst:
    """An exchange answering fills like KuCoin: startAt/endAt inclusive, newest first, one page."""

    def __init__(self) -> None:
        self.client = type("Client", (), {"markets": {"BTC/USDT": {"spot": True, "base": "BTC", "quote": "USDT"}}})()
        self.trades: list[Trade] = []
        self.calls: list[tuple[int | None, int | None]] = []
        self.btc = Decimal(0)
        self.usdt = Decimal(1000)

    def fill(self, trade_id: str, at_ms: int) -> None:
        self.trades.append(
            Trade(
                trade_id=trade_id,
                order_id="o" + trade_id,
                symbol="BTC/USDT",
                side="buy",
                price=Decimal(100),
                amount=Decimal("0.001"),
                fee=Decimal(0),
                fee_currency="USDT",
                is_maker=False,
                timestamp_ms=at_ms,
            )
        )
        self.btc += Decimal("0.001")
        self.usdt -= Decimal("0.1")

    async def fetch_balance(self) -> dict[str, Balance]:
        return {"BTC": Balance("BTC", self.btc, Decimal(0)), "USDT": Balance("USDT", self.usdt, Decimal(0))}

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        return []

    async def fetch_order(self, symbol: str, **_: Any) -> OrderSnapshot:  # pragma: no cover - every order is ours
        raise AssertionError("every order is ours")

    async def fetch_my_trades(self, symbol: str, **kw: Any) -> list[Trade]:
        assert kw.get("from_id") is None  # no fromId on this exchange
        since, until, limit = kw.get("since_ms"), kw.get("until_ms"), kw["limit"]
        self.calls.append((since, until))
        hits = [
            t
            for t in self.trades
            if (since is None or t.timestamp_ms >= since) and (until is None or t.timestamp_ms <= until)
        ]
        return sorted(hits, key=lambda t: (t.timestamp_ms, t.trade_id), reverse=True)[:limit]


def _sent(exchange: NewestFirst) -> SentOrders:
    sent = SentOrders("alice")
    for trade in exchange.trades:
        sent.sent("c" + trade.trade_id, "BTC/USDT", "buy")
        sent.answered("c" + trade.trade_id, trade.order_id)
    return sent


def _scan(exchange: NewestFirst, sent: SentOrders, now: int) -> Any:
    scan = LeakScan(exchange, sent, pairs=["BTC/USDT"], not_before_ms=1000, now_ms=now, page=3, paging="time")
    report = asyncio.run(scan.run())
    if report.checkpoint is not None:
        sent.checkpoint = report.checkpoint
    return report


def test_trades_sharing_a_millisecond_across_a_page_are_read_once_and_balances_reconcile():
    exchange = NewestFirst()
    times = (("a1", 1001), ("f2", 1002), ("b3", 1003), ("c4", 1003), ("d5", 1003), ("e6", 1004), ("x7", 1005))
    for trade_id, at in times:
        exchange.fill(trade_id, at)
    sent = _sent(exchange)
    first = _scan(exchange, sent, now=2000)
    assert first.trades == 7
    assert first.checkpoint.last_trade_ids == {"BTC/USDT": 1005}  # the newest trade's time
    exchange.fill("y9", 1500)
    exchange.fill("w10", 1500)
    for trade_id in ("y9", "w10"):
        sent.sent("c" + trade_id, "BTC/USDT", "buy")
        sent.answered("c" + trade_id, "o" + trade_id)
    second = _scan(exchange, sent, now=3000)
    assert second.trades == 2
    assert second.balances == ()  # every balance change is explained by our fills
    assert second.checkpoint.last_trade_ids == {"BTC/USDT": 1500}


def test_more_trades_in_one_millisecond_than_a_page_are_never_silently_lost():
    exchange = NewestFirst()
    sent = SentOrders("alice")
    assert _scan(exchange, sent, now=1100).balances == ()  # the baseline
    for i in range(5):
        exchange.fill(f"t{i}", 1200)
        sent.sent(f"ct{i}", "BTC/USDT", "buy")
        sent.answered(f"ct{i}", f"ot{i}")
    report = _scan(exchange, sent, now=2000)
    assert report.trades == 3  # one page inside the millisecond, then below it
    assert {b.asset: b.unexplained for b in report.balances} == {"BTC": Decimal("0.002"), "USDT": Decimal("-0.2")}
