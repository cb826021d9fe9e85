"""Market orders become LIMIT IOC orders capped at the reference +- the deviation limit (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.custody.policy import (
    OrderRequest,
    PolicyConfig,
    PolicyEngine,
    ReferenceMarket,
    cap_market_order,
    market_cap_price,
)
from bastion.domain.market import Market
from bastion.errors import ValidationError

D = Decimal
MARKET = Market(symbol="THIN/USDT", base="THIN", quote="USDT", tick_size=D("0.0001"), lot_step=D("0.1"))
CONFIG = PolicyConfig(pairs=("THIN/USDT",), min_volume_24h=D(0))
REF = ReferenceMarket(
    symbol="THIN/USDT", price=D("1.23456"), bid=D("1.2344"), ask=D("1.2347"), quote_volume_24h=D(10**7), as_of_ms=1_000
)


def market(side: str, *, amount: str | None = None, quote_amount: str | None = None) -> OrderRequest:
    return OrderRequest(
        account="alice",
        symbol="THIN/USDT",
        side=side,
        type="market",
        amount=None if amount is None else D(amount),
        quote_amount=None if quote_amount is None else D(quote_amount),
        client_order_id="m1",
    )


def test_a_buy_cap_is_rounded_down_and_a_sell_cap_up_never_beyond_the_limit():
    buy = market_cap_price("buy", REF, CONFIG, MARKET)
    sell = market_cap_price("sell", REF, CONFIG, MARKET)
    assert buy == D("1.2592")  # 1.23456 x 1.02 = 1.2592512
    assert sell == D("1.2099")  # 1.23456 x 0.98 = 1.2098688
    assert buy <= REF.price * D("1.02")
    assert sell >= REF.price * D("0.98")
    assert buy % MARKET.tick_size == 0
    assert sell % MARKET.tick_size == 0


def test_a_market_order_sized_in_base_keeps_its_amount_at_the_cap():
    capped = cap_market_order(market("buy", amount="240"), REF, CONFIG, MARKET)
    assert (capped.request.type, capped.request.price, capped.request.amount) == ("limit", D("1.2592"), D("240"))
    assert capped.request.quote_amount is None
    assert capped.request.client_order_id == "m1"
    assert capped.to_json() == {"type": "limit", "time_in_force": "IOC", "price": "1.2592", "amount": "240"}


def test_a_buy_sized_in_quote_buys_what_the_quote_pays_for_at_the_cap():
    capped = cap_market_order(market("buy", quote_amount="100"), REF, CONFIG, MARKET)
    assert capped.request.amount == D("79.4")  # floor_to_lot(100 / 1.2592 = 79.41...)
    assert capped.request.amount * capped.cap_price <= D(100)


def test_a_quote_amount_below_one_lot_at_the_cap_is_refused():
    with pytest.raises(ValidationError, match="less than one lot"):
        cap_market_order(market("buy", quote_amount="0.1"), REF, CONFIG, MARKET)


def test_only_market_orders_are_capped():
    limit = OrderRequest(
        account="alice", symbol="THIN/USDT", side="buy", type="limit", amount=D(1), price=D(1), client_order_id="l1"
    )
    with pytest.raises(ValidationError, match="only a market order"):
        cap_market_order(limit, REF, CONFIG, MARKET)


def test_the_policy_passes_the_capped_order_and_counts_its_notional_at_the_cap():
    engine = PolicyEngine(account="alice", config=CONFIG)
    capped = cap_market_order(market("buy", amount="240"), REF, CONFIG, MARKET)
    decision = engine.evaluate(capped.request, REF, now_ms=1_500)
    assert decision.allowed
    assert decision.notional == D("240") * D("1.2592")
    engine.record_sent(capped.request, now_ms=1_600)
    assert engine.usage(1_700).notional_24h["USDT"] == D("302.2080")
