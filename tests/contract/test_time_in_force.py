"""Time in force through the adapter (sync and async, see conftest.Venue): GTC, IOC, FOK as Binance.

IOC fills what crosses the book now and expires the rest; FOK fills in full or not at all. The
exchange reports such an order EXPIRED with what it filled, and its trades add up to that.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from bastion.domain import OrderStatus
from bastion.errors import ValidationError


def cid() -> str:
    return "tif-" + uuid.uuid4().hex[:20]


def _top(venue, side: str) -> tuple[Decimal, Decimal]:
    venue.advance(1)  # a fresh book: nothing consumed by earlier tests
    book = venue.port.fetch_order_book(venue.symbol, limit=venue.book_limit)
    return (book.bids if side == "sell" else book.asks)[0]


def test_ioc_fills_what_crosses_and_expires_the_rest(venue):
    port = venue.port
    market = port.market(venue.symbol)
    price, available = _top(venue, "sell")
    before = port.fetch_balance()[venue.base]
    amount = available + market.lot_step * 10
    order = port.create_order(venue.symbol, "sell", "limit", amount, price, client_order_id=cid(), time_in_force="IOC")
    assert order.status is venue.flavor.unfilled_rest
    assert order.filled == available
    fetched = port.fetch_order(venue.symbol, exchange_order_id=order.exchange_order_id)
    assert (fetched.status, fetched.filled, fetched.amount) == (venue.flavor.unfilled_rest, available, amount)
    trades = port.fetch_order_trades(venue.symbol, order.exchange_order_id)
    assert sum(t.amount for t in trades) == available
    assert all(t.price >= price for t in trades)
    after = port.fetch_balance()[venue.base]
    assert after.used == before.used  # the expired rest is not locked
    assert after.total == before.total - available
    assert order.exchange_order_id not in {o.exchange_order_id for o in port.fetch_open_orders(venue.symbol)}


def test_ioc_that_does_not_cross_expires_unfilled(venue):
    port = venue.port
    market = port.market(venue.symbol)
    bid, _ = _top(venue, "sell")
    price = market.round_price(bid * Decimal("0.9"), "down")
    amount = market.floor_amount(Decimal(20) / price)
    before = port.fetch_balance()[venue.quote]
    order = port.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=cid(), time_in_force="IOC")
    assert (order.status, order.filled) == (venue.flavor.unfilled_rest, Decimal(0))
    assert port.fetch_order_trades(venue.symbol, order.exchange_order_id) == []
    assert port.fetch_balance()[venue.quote].used == before.used


def test_fok_is_all_or_nothing(venue):
    port = venue.port
    market = port.market(venue.symbol)
    price, available = _top(venue, "sell")
    too_much = available + market.lot_step * 10
    order = port.create_order(
        venue.symbol, "sell", "limit", too_much, price, client_order_id=cid(), time_in_force="FOK"
    )
    assert (order.status, order.filled) == (venue.flavor.unfilled_rest, Decimal(0))
    assert port.fetch_order_trades(venue.symbol, order.exchange_order_id) == []
    small = market.floor_amount(Decimal(20) / price)
    filled = port.create_order(venue.symbol, "sell", "limit", small, price, client_order_id=cid(), time_in_force="FOK")
    assert (filled.status, filled.filled) == (OrderStatus.FILLED, small)


def test_gtc_rests_what_does_not_cross(venue):
    port = venue.port
    market = port.market(venue.symbol)
    bid, _ = _top(venue, "sell")
    price = market.round_price(bid * Decimal("0.9"), "down")
    amount = market.floor_amount(Decimal(20) / price)
    order = port.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=cid(), time_in_force="GTC")
    assert order.status is OrderStatus.ACCEPTED
    assert order.exchange_order_id in {o.exchange_order_id for o in port.fetch_open_orders(venue.symbol)}
    port.cancel_order(venue.symbol, exchange_order_id=order.exchange_order_id)


@pytest.mark.parametrize(("kind", "tif"), [("limit", "DAY"), ("limit", "ioc"), ("market", "IOC")])
def test_a_time_in_force_the_exchange_does_not_take_is_refused_before_sending(venue, kind, tif):
    port = venue.port
    market = port.market(venue.symbol)
    bid, _ = _top(venue, "sell")
    price = market.round_price(bid * Decimal("0.9"), "down") if kind == "limit" else None
    amount = market.floor_amount(Decimal(20) / bid)
    with pytest.raises(ValidationError, match="time_in_force"):
        port.create_order(venue.symbol, "buy", kind, amount, price, client_order_id=cid(), time_in_force=tif)
    assert venue.unknown_requests() == []
