"""Each rule at its boundary: exactly at the limit passes, one tick over is denied."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from bastion.custody.policy import (
    Allowed,
    Denied,
    OrderRequest,
    PolicyEngine,
    PolicyState,
    ReferenceMarket,
    Rule,
)

NOW = 1_700_000_000_000
MINUTE = 60_000
DAY = 86_400_000

RequestFor = Callable[..., OrderRequest]
ReferenceFor = Callable[..., ReferenceMarket]
MakeEngine = Callable[..., PolicyEngine]


def denied(decision: object, rule: Rule) -> Denied:
    assert isinstance(decision, Denied), decision
    assert decision.rule is rule, decision.message
    assert decision.message.startswith(f"{rule.value}: ")
    return decision


def allowed(decision: object) -> Allowed:
    assert isinstance(decision, Allowed), decision
    return decision


# --- pairs -----------------------------------------------------------------------------------


def test_listed_pair_passes_and_unlisted_is_denied(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    allowed(engine.evaluate(request_for(), reference_for(), NOW))
    pump = dict(symbol="PUMP/USDT")
    decision = denied(
        engine.evaluate(request_for(**pump), reference_for(**pump), NOW), Rule.PAIR_NOT_ALLOWED
    )
    assert decision.message == (
        "pair_not_allowed: PUMP/USDT is not in the allowlist (BTC/USDT, ETH/BTC, ETH/USDT)"
    )
    assert decision.compared_values["symbol"] == "PUMP/USDT"


def test_empty_allowlist_allows_nothing(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(pairs=(), quote_limits={})
    decision = denied(engine.evaluate(request_for(), reference_for(), NOW), Rule.PAIR_NOT_ALLOWED)
    assert "empty: no pair is configured" in decision.message


# --- max_order_notional ------------------------------------------------------------------------


def test_order_exactly_at_max_notional_passes_and_one_tick_over_is_denied(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    ref = reference_for()
    at = allowed(engine.evaluate(request_for(amount=Decimal(10), price=Decimal(100)), ref, NOW))
    assert at.notional == Decimal(1000)
    over = request_for(amount=Decimal(10), price=Decimal("100.01"))
    decision = denied(engine.evaluate(over, ref, NOW), Rule.MAX_ORDER_NOTIONAL)
    assert decision.message == (
        "max_order_notional: order value 1000.10 USDT (10 x 100.01) is above the limit 1000 USDT"
    )
    assert decision.compared_values["notional"] == "1000.10"
    assert decision.compared_values["max_order_notional"] == "1000"


def test_market_buy_notional_is_amount_times_best_ask(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    ref = reference_for(ask=Decimal(100))
    market = request_for(type="market", price=None, amount=Decimal(10))
    assert allowed(engine.evaluate(market, ref, NOW)).notional == Decimal(1000)
    pricier = reference_for(ask=Decimal("100.01"))
    denied(engine.evaluate(market, pricier, NOW), Rule.MAX_ORDER_NOTIONAL)


def test_market_sell_notional_is_amount_times_best_bid(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    sell = request_for(side="sell", type="market", price=None, amount=Decimal(10))
    decision = allowed(engine.evaluate(sell, reference_for(bid=Decimal("99.5")), NOW))
    assert decision.expected_price == Decimal("99.5")
    assert decision.notional == Decimal(995)


def test_market_order_by_quote_amount_uses_it_as_notional(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    at = request_for(type="market", price=None, amount=None, quote_amount=Decimal(1000))
    assert allowed(engine.evaluate(at, reference_for(), NOW)).notional == Decimal(1000)
    over = request_for(type="market", price=None, amount=None, quote_amount=Decimal("1000.01"))
    decision = denied(engine.evaluate(over, reference_for(), NOW), Rule.MAX_ORDER_NOTIONAL)
    assert "(quote_amount)" in decision.message


def test_btc_quoted_pair_uses_its_own_limits(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    ref = reference_for(
        symbol="ETH/BTC", price=Decimal("0.05"), bid=None, ask=None, quote_volume_24h=Decimal(100)
    )
    at = request_for(symbol="ETH/BTC", amount=Decimal(1), price=Decimal("0.05"))
    decision = allowed(engine.evaluate(at, ref, NOW))
    assert (decision.quote, decision.notional) == ("BTC", Decimal("0.05"))
    over = request_for(symbol="ETH/BTC", amount=Decimal("1.001"), price=Decimal("0.05"))
    assert "BTC" in denied(engine.evaluate(over, ref, NOW), Rule.MAX_ORDER_NOTIONAL).message


# --- max_daily_notional and the rolling 24 h window ------------------------------------------


def send(engine: PolicyEngine, request: OrderRequest, reference: ReferenceMarket, now: int) -> None:
    allowed(engine.evaluate(request, reference, now))
    engine.record_sent(request, now)


def test_daily_notional_exactly_at_limit_passes_and_one_tick_over_is_denied(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_daily_notional=Decimal(2500))
    for i in range(2):
        send(engine, request_for(amount=Decimal(10), client_order_id=f"o{i}"), reference_for(), NOW + i)
    assert engine.usage(NOW + 2).notional_24h["USDT"] == Decimal(2000)
    over = request_for(amount=Decimal("5.0001"), client_order_id="over")
    decision = denied(engine.evaluate(over, reference_for(), NOW + 2), Rule.MAX_DAILY_NOTIONAL)
    assert decision.message == (
        "max_daily_notional: this order's 500.0100 USDT on top of 2000 USDT sent in the last 24 h "
        "makes 2500.0100 USDT, above the limit 2500 USDT"
    )
    assert decision.compared_values == {
        "notional": "500.0100",
        "sent_24h": "2000",
        "total": "2500.0100",
        "max_daily_notional": "2500",
        "quote": "USDT",
    }
    allowed(engine.evaluate(request_for(amount=Decimal(5), client_order_id="at"), reference_for(), NOW + 2))


def test_daily_notional_window_rolls_after_exactly_24_hours(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_daily_notional=Decimal(1000))
    send(engine, request_for(amount=Decimal(10), client_order_id="first"), reference_for(), NOW)
    nxt = request_for(amount=Decimal("0.01"), client_order_id="next")
    just_before = NOW + DAY - 1
    denied(engine.evaluate(nxt, reference_for(as_of_ms=just_before), just_before), Rule.MAX_DAILY_NOTIONAL)
    allowed(engine.evaluate(nxt, reference_for(as_of_ms=NOW + DAY), NOW + DAY))
    assert dict(engine.usage(NOW + DAY).notional_24h) == {}


def test_daily_notional_is_kept_per_quote_currency(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_daily_notional=Decimal(1000))
    send(engine, request_for(amount=Decimal(10), client_order_id="usdt"), reference_for(), NOW)
    eth_btc = dict(symbol="ETH/BTC")
    ref = reference_for(**eth_btc, price=Decimal("0.05"), bid=None, ask=None, quote_volume_24h=Decimal(100))
    send(engine, request_for(**eth_btc, price=Decimal("0.05"), client_order_id="btc"), ref, NOW)
    assert dict(engine.usage(NOW).notional_24h) == {"USDT": Decimal(1000), "BTC": Decimal("0.05")}


# --- max_orders_per_minute -----------------------------------------------------------------


def test_rate_limit_allows_exactly_max_orders_per_minute(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_orders_per_minute=3, max_daily_notional=Decimal(100_000))
    ref = reference_for()
    for i in range(3):
        send(engine, request_for(client_order_id=f"o{i}"), ref, NOW + i * 1000)
    fourth = request_for(client_order_id="o3")
    decision = denied(engine.evaluate(fourth, ref, NOW + 3000), Rule.MAX_ORDERS_PER_MINUTE)
    assert decision.message == (
        "max_orders_per_minute: 3 orders were sent in the last 60 s; the limit is 3 a minute"
    )
    # The first order leaves the window exactly 60 s after it was sent.
    denied(
        engine.evaluate(fourth, reference_for(as_of_ms=NOW + MINUTE - 1), NOW + MINUTE - 1),
        Rule.MAX_ORDERS_PER_MINUTE,
    )
    allowed(engine.evaluate(fourth, reference_for(as_of_ms=NOW + MINUTE), NOW + MINUTE))


# --- max_deviation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "price", "passes"),
    [
        ("buy", "102", True),  # exactly 2 % above
        ("buy", "102.01", False),  # one tick more
        ("buy", "50", True),  # deep DCA safety order below the market
        ("buy", "0.01", True),
        ("sell", "98", True),  # exactly 2 % below
        ("sell", "97.99", False),
        ("sell", "300", True),  # take-profit far above the market
    ],
)
def test_limit_deviation_binds_only_in_the_direction_that_costs_the_user(
    engine: PolicyEngine,
    request_for: RequestFor,
    reference_for: ReferenceFor,
    side: str,
    price: str,
    passes: bool,
) -> None:
    request = request_for(side=side, price=Decimal(price), amount=Decimal("0.1"))
    decision = engine.evaluate(request, reference_for(), NOW)
    if passes:
        allowed(decision)
    else:
        denied(decision, Rule.MAX_DEVIATION)


def test_buy_nine_times_the_reference_is_denied_with_the_compared_values(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    request = request_for(price=Decimal(900), amount=Decimal("0.1"))
    decision = denied(engine.evaluate(request, reference_for(), NOW), Rule.MAX_DEVIATION)
    assert decision.message == (
        "max_deviation: buy limit 900 is 800.00 % above the reference 100; the limit is 2 %"
    )
    assert decision.compared_values == {
        "symbol": "ETH/USDT",
        "side": "buy",
        "type": "limit",
        "price_source": "limit",
        "price": "900",
        "reference_price": "100",
        "deviation_pct": "800.00",
        "max_deviation_pct": "2",
    }


def test_deviation_message_reads_like_the_documented_example(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    request = request_for(price=Decimal("270.00"), amount=Decimal("0.1"))
    ref = reference_for(price=Decimal("200.00"), bid=None, ask=None)
    decision = denied(engine.evaluate(request, ref, NOW), Rule.MAX_DEVIATION)
    assert decision.message == (
        "max_deviation: buy limit 270.00 is 35.00 % above the reference 200.00; the limit is 2 %"
    )


def test_sell_far_below_the_reference_is_denied(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    request = request_for(side="sell", price=Decimal(10), amount=Decimal(1))
    decision = denied(engine.evaluate(request, reference_for(), NOW), Rule.MAX_DEVIATION)
    assert "is 90.00 % below the reference 100" in decision.message


@pytest.mark.parametrize(
    ("side", "book", "passes"),
    [
        ("buy", {"ask": Decimal(102)}, True),
        ("buy", {"ask": Decimal("102.01")}, False),  # a pumped book
        ("buy", {"ask": Decimal(900)}, False),
        ("sell", {"bid": Decimal(98)}, True),
        ("sell", {"bid": Decimal("97.99")}, False),  # a dumped book
        ("buy", {"ask": None}, True),  # no book: the reference is the expected price
        ("sell", {"bid": None}, True),
    ],
)
def test_market_order_deviation_uses_the_best_ask_or_bid(
    engine: PolicyEngine,
    request_for: RequestFor,
    reference_for: ReferenceFor,
    side: str,
    book: dict[str, Decimal | None],
    passes: bool,
) -> None:
    request = request_for(side=side, type="market", price=None, amount=Decimal("0.1"))
    decision = engine.evaluate(request, reference_for(**book), NOW)
    if passes:
        allowed(decision)
    else:
        source = "best ask" if side == "buy" else "best bid"
        assert f"market {side} at the {source}" in denied(decision, Rule.MAX_DEVIATION).message


def test_configured_deviation_is_respected(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_deviation_pct=Decimal("0.5"))
    allowed(engine.evaluate(request_for(price=Decimal("100.5")), reference_for(), NOW))
    denied(engine.evaluate(request_for(price=Decimal("100.51")), reference_for(), NOW), Rule.MAX_DEVIATION)


# --- min_volume_24h ------------------------------------------------------------------------------


def test_volume_exactly_at_minimum_passes_and_just_below_is_denied(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    allowed(engine.evaluate(request_for(), reference_for(quote_volume_24h=Decimal(1_000_000)), NOW))
    thin = reference_for(quote_volume_24h=Decimal("999999.99"))
    decision = denied(engine.evaluate(request_for(), thin, NOW), Rule.MIN_VOLUME_24H)
    assert decision.message == (
        "min_volume_24h: ETH/USDT traded 999999.99 USDT in 24 h; the minimum is 1000000 USDT"
    )


def test_unknown_volume_is_denied(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    decision = denied(
        engine.evaluate(request_for(), reference_for(quote_volume_24h=None), NOW), Rule.MIN_VOLUME_24H
    )
    assert decision.compared_values["quote_volume_24h"] == "unknown"


# --- reference --------------------------------------------------------------------------------


def test_reference_exactly_at_max_age_passes_and_one_ms_older_is_stale(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    allowed(engine.evaluate(request_for(), reference_for(as_of_ms=NOW - 30_000), NOW))
    decision = denied(
        engine.evaluate(request_for(), reference_for(as_of_ms=NOW - 30_001), NOW), Rule.REFERENCE_STALE
    )
    assert (
        decision.message
        == "reference_stale: the reference price of ETH/USDT is 30001 ms old; the limit is 30000 ms"
    )


def test_reference_from_the_future_is_stale(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    allowed(engine.evaluate(request_for(), reference_for(as_of_ms=NOW + 500), NOW))
    decision = denied(
        engine.evaluate(request_for(), reference_for(as_of_ms=NOW + 30_001), NOW), Rule.REFERENCE_STALE
    )
    assert "30001 ms in the future" in decision.message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"symbol": "BTC/USDT"}, "the reference is for BTC/USDT, the order for ETH/USDT"),
        ({"price": Decimal(0)}, "reference price must be positive"),
        ({"price": Decimal("NaN")}, "reference price must be a finite number"),
        ({"bid": Decimal(101), "ask": Decimal(100)}, "the reference book is crossed"),
        ({"quote_volume_24h": Decimal(-1)}, "quote_volume_24h must be non-negative"),
        ({"as_of_ms": "now"}, "as_of_ms must be epoch milliseconds"),
    ],
)
def test_unusable_reference_is_denied_as_invalid(
    engine: PolicyEngine,
    request_for: RequestFor,
    reference_for: ReferenceFor,
    overrides: dict,
    expected: str,
) -> None:
    decision = denied(
        engine.evaluate(request_for(), reference_for(**overrides), NOW), Rule.REFERENCE_INVALID
    )
    assert expected in decision.message


# --- bad_request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"price": None}, "a limit order needs a price, got None"),
        ({"amount": Decimal(0)}, "amount must be positive, got 0"),
        ({"amount": Decimal(-1)}, "amount must be positive, got -1"),
        ({"price": Decimal("-100")}, "price must be positive"),
        ({"amount": 0.1}, r"amount must be a Decimal, got 0.1 (float)"),
        ({"amount": Decimal("Infinity")}, "amount must be a finite number"),
        ({"amount": Decimal("sNaN")}, "amount must be a finite number"),
        ({"amount": Decimal("1E+31")}, "amount must be between 1E-30 and 1E+30"),
        ({"amount": Decimal("1." + "1" * 45)}, "at most 40 significant digits"),
        ({"quote_amount": Decimal(5)}, "a limit order is sized by amount"),
        ({"type": "market"}, "a market order takes no price"),
        (
            {"type": "market", "price": None, "quote_amount": Decimal(5)},
            "exactly one of amount and quote_amount",
        ),
        ({"type": "market", "price": None, "amount": None}, "exactly one of amount and quote_amount"),
        ({"type": "stop"}, "type must be 'limit' or 'market', got stop"),
        ({"side": "BUY"}, "side must be 'buy' or 'sell', got BUY"),
        ({"account": "mallory"}, "the request is for account mallory, this policy guards 'alice'"),
        ({"client_order_id": ""}, "client_order_id must be 1 to 64 printable characters"),
        ({"client_order_id": "x" * 65}, "client_order_id must be 1 to 64 printable characters"),
        ({"symbol": "ETHUSDT"}, "symbol must be a spot symbol 'BASE/QUOTE'"),
        ({"reduces_exposure": "yes"}, "reduces_exposure must be True or False"),
    ],
)
def test_malformed_request_is_denied_not_raised(
    engine: PolicyEngine,
    request_for: RequestFor,
    reference_for: ReferenceFor,
    overrides: dict,
    expected: str,
) -> None:
    decision = denied(engine.evaluate(request_for(**overrides), reference_for(), NOW), Rule.BAD_REQUEST)
    assert expected in decision.message


def test_something_that_is_not_a_request_is_a_bad_request(
    engine: PolicyEngine, reference_for: ReferenceFor
) -> None:
    decision = denied(engine.evaluate({"symbol": "ETH/USDT"}, reference_for(), NOW), Rule.BAD_REQUEST)  # type: ignore[arg-type]
    assert "expected an OrderRequest, got dict" in decision.message


# --- states ------------------------------------------------------------------------------------


def test_reducing_lets_only_sells_that_reduce_exposure_through(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine.set_state(PolicyState.REDUCING)
    ref = reference_for()
    allowed(engine.evaluate(request_for(side="sell", reduces_exposure=True), ref, NOW))
    decision = denied(engine.evaluate(request_for(side="sell"), ref, NOW), Rule.STATE_REDUCING)
    assert decision.message == (
        "state_reducing: the account is REDUCING: only sells that reduce exposure pass, got a sell "
        "with reduces_exposure=False"
    )
    # For spot a buy never reduces exposure, whatever the flag says.
    denied(engine.evaluate(request_for(side="buy", reduces_exposure=True), ref, NOW), Rule.STATE_REDUCING)


def test_reducing_orders_still_meet_the_other_limits(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine.set_state("reducing")
    dump = request_for(side="sell", reduces_exposure=True, price=Decimal(50))
    denied(engine.evaluate(dump, reference_for(), NOW), Rule.MAX_DEVIATION)


def test_halted_lets_nothing_through(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine.set_state(PolicyState.HALTED)
    for request in (
        request_for(),
        request_for(side="sell", reduces_exposure=True),
        request_for(price=None),
    ):
        decision = denied(engine.evaluate(request, reference_for(), NOW), Rule.STATE_HALTED)
        assert decision.compared_values == {"state": "halted"}
    engine.set_state(PolicyState.ACTIVE)
    allowed(engine.evaluate(request_for(), reference_for(), NOW))
