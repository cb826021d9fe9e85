"""The exchange contract: every adapter must pass this suite unchanged (see conftest.Venue)."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from decimal import Decimal

import pytest

from bastion.domain import OrderStatus, OrderType
from bastion.errors import (
    AuthenticationFailed,
    DuplicateOrder,
    FilterViolation,
    InsufficientFunds,
    MarketRuleError,
    OrderNotFound,
    RateLimited,
    TimestampRejected,
)
from bastion.exchanges.credentials import ApiCredentials


def below(price: Decimal, pct: str) -> Decimal:
    return price * (1 - Decimal(pct) / 100)


def cid() -> str:
    return "t-" + uuid.uuid4().hex[:20]


def limit_buy_args(venue, pct_below: str = "5") -> tuple[Decimal, Decimal]:
    market = venue.port.market(venue.symbol)
    last = venue.port.fetch_ticker(venue.symbol).last
    price = market.round_price(below(last, pct_below), "down")
    amount = market.floor_amount(Decimal(50) / price)
    return price, amount


def test_load_markets_gives_decimal_rules(venue):
    markets = venue.port.load_markets(reload=True)
    market = markets[venue.symbol]
    assert (market.base, market.quote) == (venue.base, venue.quote)
    assert market.tick_size > 0
    assert market.lot_step > 0
    assert market.min_notional is not None
    assert market.min_notional > 0
    assert isinstance(market.taker_fee, Decimal)


def test_ohlcv_is_ordered_decimal_candles(venue):
    candles = venue.port.fetch_ohlcv(venue.symbol, "5m", limit=50)
    assert len(candles) == 50
    assert all(b.ts_ms - a.ts_ms == 300_000 for a, b in itertools.pairwise(candles))
    for c in candles:
        assert isinstance(c.close, Decimal)
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high


def test_ticker_and_order_book_are_consistent(venue):
    ticker = venue.port.fetch_ticker(venue.symbol)
    assert ticker.bid < ticker.ask
    assert ticker.quote_volume > 0
    book = venue.port.fetch_order_book(venue.symbol, limit=venue.book_limit)
    assert 0 < len(book.bids) <= venue.book_limit
    assert 0 < len(book.asks) <= venue.book_limit
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.bids[0][0] < book.asks[0][0]


def test_balance_has_free_and_used(venue):
    balances = venue.port.fetch_balance()
    assert balances[venue.quote].free > 0
    assert balances[venue.quote].total == balances[venue.quote].free + balances[venue.quote].used


def test_limit_order_lifecycle_locks_and_releases_funds(venue):
    port = venue.port
    price, amount = limit_buy_args(venue)
    free_before = port.fetch_balance()[venue.quote].free
    client_id = cid()
    placed = port.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=client_id)
    assert placed.status is OrderStatus.ACCEPTED
    assert placed.client_order_id == client_id
    assert (placed.price, placed.amount, placed.filled) == (price, amount, 0)

    by_id = port.fetch_order(venue.symbol, exchange_order_id=placed.exchange_order_id)
    by_client = port.fetch_order(venue.symbol, client_order_id=client_id)
    assert by_id.exchange_order_id == by_client.exchange_order_id == placed.exchange_order_id
    assert placed.exchange_order_id in {o.exchange_order_id for o in port.fetch_open_orders(venue.symbol)}
    assert placed.exchange_order_id in {o.exchange_order_id for o in port.fetch_open_orders()}
    balance = port.fetch_balance()[venue.quote]
    assert balance.free == free_before - price * amount
    assert balance.used >= price * amount

    cancelled = port.cancel_order(venue.symbol, client_order_id=client_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert port.fetch_order(venue.symbol, exchange_order_id=placed.exchange_order_id).status is OrderStatus.CANCELLED
    assert placed.exchange_order_id not in {o.exchange_order_id for o in port.fetch_open_orders(venue.symbol)}
    assert port.fetch_balance()[venue.quote].free == free_before


def test_market_buy_fills_with_fee_in_base(venue):
    port = venue.port
    market = port.market(venue.symbol)
    last = port.fetch_ticker(venue.symbol).last
    amount = market.floor_amount(Decimal(30) / last)
    order = port.create_order(venue.symbol, "buy", OrderType.MARKET, amount, client_order_id=cid())
    assert order.status is OrderStatus.FILLED
    assert order.filled == amount
    assert order.trades
    assert sum(t.amount for t in order.trades) == amount
    fee = sum(t.fee for t in order.trades)
    assert fee == amount * market.taker_fee
    assert {t.fee_currency for t in order.trades} == {venue.base}
    mine = {t.trade_id for t in port.fetch_my_trades(venue.symbol)}
    assert {t.trade_id for t in order.trades} <= mine


def test_market_buy_by_quote_amount_spends_at_most_that(venue):
    port = venue.port
    order = port.create_order(
        venue.symbol, "buy", "market", None, client_order_id=cid(), quote_amount=Decimal("25")
    )
    assert order.status is OrderStatus.FILLED
    assert 0 < order.cost <= Decimal("25")
    assert order.filled > 0


def test_market_sell_fee_is_in_quote(venue):
    port = venue.port
    market = port.market(venue.symbol)
    amount = market.floor_amount(Decimal(20) / port.fetch_ticker(venue.symbol).last)
    order = port.create_order(venue.symbol, "sell", "market", amount, client_order_id=cid())
    assert order.status is OrderStatus.FILLED
    assert {t.fee_currency for t in order.trades} == {venue.quote}
    fee = sum(t.fee for t in order.trades)
    expected = sum(t.price * t.amount * market.taker_fee for t in order.trades)
    assert abs(fee - expected) <= Decimal("1e-8") * len(order.trades)


def test_resting_limit_buy_fills_when_the_market_trades_through_it(venue):
    port = venue.port
    price, amount = limit_buy_args(venue, pct_below="0.05")
    order = port.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=cid())
    for _ in range(300):
        state = port.fetch_order(venue.symbol, exchange_order_id=order.exchange_order_id)
        if state.status is OrderStatus.FILLED:
            break
        venue.advance(1)
    else:
        pytest.fail(f"limit buy at {price} never filled in 300 candles")
    assert state.filled == amount
    assert state.average_price == price
    trades = [t for t in port.fetch_my_trades(venue.symbol) if t.order_id == order.exchange_order_id]
    assert trades
    assert all(t.is_maker for t in trades)
    assert sum(t.fee for t in trades) == amount * port.market(venue.symbol).maker_fee


def test_order_trades_are_found_however_many_trades_came_after(venue):
    port = venue.port
    market = port.market(venue.symbol)
    amount = market.floor_amount(Decimal(15) / port.fetch_ticker(venue.symbol).last)
    first = port.create_order(venue.symbol, "buy", "market", amount, client_order_id=cid())
    for _ in range(3):
        port.create_order(venue.symbol, "buy", "market", amount, client_order_id=cid())
    recent = port.fetch_my_trades(venue.symbol, limit=2)
    assert first.exchange_order_id not in {t.order_id for t in recent}
    trades = port.fetch_order_trades(venue.symbol, first.exchange_order_id)
    assert {t.trade_id for t in trades} == {t.trade_id for t in first.trades}
    assert sum(t.amount for t in trades) == amount


def balance_with(venue, credentials: ApiCredentials):
    """Open a port with ``credentials`` and read the balance.

    The first private request fails: fetch_balance, or already load_markets on exchanges whose
    market list needs the key (ccxt's kucoin asks for margin symbols when it has credentials).
    """
    return venue.make_port(credentials).fetch_balance()


def test_wrong_secret_is_an_authentication_failure(venue):
    with pytest.raises(AuthenticationFailed) as err:
        balance_with(venue, dataclasses.replace(venue.credentials, secret="0" * 64))
    assert "0" * 64 not in str(err.value)


def test_unknown_key_is_an_authentication_failure(venue):
    with pytest.raises(AuthenticationFailed):
        balance_with(venue, dataclasses.replace(venue.credentials, api_key="k" * 64, secret="s" * 64))


def test_stale_timestamp_is_rejected(venue):
    venue.skew_clock(venue.port, 120_000)
    try:
        with pytest.raises(TimestampRejected):
            venue.port.fetch_balance()
    finally:
        venue.skew_clock(venue.port, 0)


def test_unknown_order_is_not_found(venue):
    with pytest.raises(OrderNotFound):
        venue.port.fetch_order(venue.symbol, exchange_order_id="987654321")
    with pytest.raises(OrderNotFound):
        venue.port.cancel_order(venue.symbol, client_order_id="never-placed")


def test_insufficient_balance(venue, poor_credentials: ApiCredentials):
    poor = venue.make_port(poor_credentials)
    price, _ = limit_buy_args(venue)
    amount = poor.market(venue.symbol).floor_amount(Decimal(100) / price)
    with pytest.raises(InsufficientFunds):
        poor.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=cid())
    assert poor.fetch_open_orders(venue.symbol) == []


def test_rules_are_checked_before_sending(venue):
    market = venue.port.market(venue.symbol)
    price, amount = limit_buy_args(venue)
    off_tick = price + market.tick_size / 2
    with pytest.raises(MarketRuleError) as err:
        venue.port.create_order(venue.symbol, "buy", "limit", amount, off_tick, client_order_id=cid())
    assert err.value.rule == "tick_size"


def test_exchange_filter_failure_is_a_filter_violation(venue):
    # ccxt itself rounds prices and amounts to the market's precision, so the exchange's own
    # filter is reached with an order below its minimum notional that our check let through.
    market = venue.port.market(venue.symbol)
    price, _ = limit_buy_args(venue)
    with venue.loosened_market(), pytest.raises(FilterViolation, match=venue.notional_refusal):
        venue.port.create_order(venue.symbol, "buy", "limit", market.lot_step, price, client_order_id=cid())


def test_duplicate_client_order_id_is_refused(venue):
    price, amount = limit_buy_args(venue)
    client_id = cid()
    venue.port.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=client_id)
    with pytest.raises(DuplicateOrder):
        venue.port.create_order(venue.symbol, "buy", "limit", amount, price, client_order_id=client_id)
    assert [o.client_order_id for o in venue.port.fetch_open_orders(venue.symbol)].count(client_id) == 1


def test_rate_limit_says_when_to_retry(venue):
    venue.fault("429", count=1)
    with pytest.raises(RateLimited) as err:
        venue.port.fetch_ticker(venue.symbol)
    assert err.value.retry_after is not None
    assert err.value.retry_after > 0
    venue.port.fetch_ticker(venue.symbol)  # the next request goes through


def test_api_restrictions_are_read(venue):
    restrictions = venue.read_restrictions()
    assert restrictions.can_read
    assert restrictions.can_trade_spot
    assert restrictions.dangerous_permissions == ()


def test_no_request_hit_an_unknown_endpoint(venue):
    venue.port.load_markets(reload=True)
    venue.port.fetch_balance()
    assert venue.unknown_requests() == []
