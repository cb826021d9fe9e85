"""Properties of the firewall, checked with Hypothesis."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.custody.policy import (
    RULES,
    Allowed,
    Denied,
    OrderRequest,
    PolicyConfig,
    PolicyEngine,
    PolicyState,
    QuoteLimits,
    ReferenceMarket,
    Rule,
    loosening,
)

NOW = 1_700_000_000_000
ACCOUNT = "alice"
UNIVERSE = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC", "PUMP/USDT")
STATES = (PolicyState.HALTED, PolicyState.REDUCING, PolicyState.ACTIVE)
# Weighted towards what lets orders through, so the properties about allowed orders get exercised.
LIKELY_STATES = (PolicyState.HALTED, PolicyState.REDUCING, *[PolicyState.ACTIVE] * 6)

MIN_VOLUMES = [Decimal(v) for v in (0, 1000, 1_000_000, 5_000_000)]
VOLUMES = [None, *MIN_VOLUMES, *[Decimal(10**8)] * 6]

FAST = settings(deadline=None, max_examples=150)


def decimals(low: str, high: str, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False)


@st.composite
def quote_limits(draw: st.DrawFn) -> QuoteLimits:
    return QuoteLimits(
        max_order_notional=draw(decimals("0.01", "5000")),
        max_daily_notional=draw(decimals("0.01", "20000")),
        min_volume_24h=draw(st.sampled_from(MIN_VOLUMES)),
    )


@st.composite
def configs(draw: st.DrawFn) -> PolicyConfig:
    with_btc = draw(st.booleans())
    universe = [p for p in UNIVERSE if with_btc or not p.endswith("/BTC")]
    usdt = draw(quote_limits())
    return PolicyConfig(
        pairs=tuple(p for p in universe if draw(st.integers(0, 4))),
        max_order_notional=usdt.max_order_notional,
        max_daily_notional=usdt.max_daily_notional,
        min_volume_24h=usdt.min_volume_24h,
        quote_limits={"BTC": draw(quote_limits())} if with_btc else {},
        max_orders_per_minute=draw(st.integers(1, 10)),
        max_deviation_pct=draw(decimals("0.01", "100")),
        max_reference_age_ms=draw(st.integers(1, 60_000)),
        state=draw(st.sampled_from(LIKELY_STATES)),
        denial_burst=draw(st.integers(1, 10)),
        denial_window_ms=draw(st.integers(1, 120_000)),
    )


def _looser_limits(draw: st.DrawFn, limits: QuoteLimits) -> QuoteLimits:
    return QuoteLimits(
        max_order_notional=limits.max_order_notional + draw(decimals("0", "1000")),
        max_daily_notional=limits.max_daily_notional + draw(decimals("0", "1000")),
        min_volume_24h=limits.min_volume_24h * draw(decimals("0", "1", places=3)),
    )


@st.composite
def looser(draw: st.DrawFn, config: PolicyConfig) -> PolicyConfig:
    """A config at least as loose as ``config`` in every field."""
    quote_limits_ = {q: _looser_limits(draw, lim) for q, lim in config.quote_limits.items()}
    if "BTC" not in quote_limits_ and draw(st.booleans()):
        quote_limits_["BTC"] = draw(quote_limits())
    universe = [p for p in UNIVERSE if "BTC" in quote_limits_ or not p.endswith("/BTC")]
    usdt = _looser_limits(draw, config.all_limits()["USDT"])
    return PolicyConfig(
        pairs=config.pairs + tuple(draw(st.sets(st.sampled_from(universe)))),
        max_order_notional=usdt.max_order_notional,
        max_daily_notional=usdt.max_daily_notional,
        min_volume_24h=usdt.min_volume_24h,
        quote_limits=quote_limits_,
        max_orders_per_minute=config.max_orders_per_minute + draw(st.integers(0, 5)),
        max_deviation_pct=min(Decimal(100), config.max_deviation_pct + draw(decimals("0", "50"))),
        max_reference_age_ms=config.max_reference_age_ms + draw(st.integers(0, 10_000)),
        state=draw(st.sampled_from([s for s in STATES if s.openness >= config.state.openness])),
        denial_burst=config.denial_burst + draw(st.integers(0, 5)),
        denial_window_ms=max(1, config.denial_window_ms - draw(st.integers(0, 10_000))),
    )


@st.composite
def orders(draw: st.DrawFn, index: int = 0) -> tuple[OrderRequest, ReferenceMarket, int]:
    """A well-formed order with a plausible reference, and a time step before it (ms)."""
    symbol = draw(st.sampled_from(UNIVERSE))
    ref_price = draw(decimals("0.01", "1000"))
    bid = draw(st.none() | st.just(ref_price * draw(decimals("0.9", "1", places=3))))
    ask = draw(st.none() | st.just(ref_price * draw(decimals("1", "1.1", places=3))))
    kind = draw(st.sampled_from(["limit", "market", "market_quote"]))
    side = draw(st.sampled_from(["buy", "sell"]))
    amount = draw(decimals("0.001", "3", places=3))
    fields: dict[str, Any] = {
        "account": ACCOUNT,
        "symbol": symbol,
        "side": side,
        "type": "limit" if kind == "limit" else "market",
        "client_order_id": f"o{index}-{draw(st.integers(0, 10**6))}",
        "reduces_exposure": draw(st.booleans()),
    }
    if kind == "limit":
        fields.update(amount=amount, price=ref_price * draw(decimals("0.5", "1.2", places=3)))
    elif kind == "market":
        fields.update(amount=amount)
    else:
        fields.update(quote_amount=draw(decimals("0.01", "500")))
    reference = ReferenceMarket(
        symbol=symbol,
        price=ref_price,
        bid=bid,
        ask=ask,
        quote_volume_24h=draw(st.sampled_from(VOLUMES)),
        as_of_ms=NOW,  # re-dated when used
    )
    return OrderRequest(**fields), reference, draw(st.integers(0, 40_000))


histories = st.lists(orders(), max_size=8)


def _replay(engine: PolicyEngine, history: list) -> int:
    now = NOW
    for i, (request, reference, step) in enumerate(history):
        now += step
        request = dataclasses.replace(request, client_order_id=f"h{i}")
        decision = engine.evaluate(request, dataclasses.replace(reference, as_of_ms=now), now)
        if isinstance(decision, Allowed):
            engine.record_sent(request, now)
    return now


@FAST
@given(data=st.data(), config=configs(), history=histories, final=orders())
def test_an_order_allowed_under_a_config_is_allowed_under_any_looser_one(
    data: st.DataObject, config: PolicyConfig, history: list, final: tuple
) -> None:
    new = data.draw(looser(config))
    assert loosening(new, config) == []
    engine = PolicyEngine(account=ACCOUNT, config=config)
    now = _replay(engine, history) + final[2]
    request, reference = final[0], dataclasses.replace(final[1], as_of_ms=now)
    first = engine.evaluate(request, reference, now)
    if isinstance(first, Allowed):
        engine.set_config(new)
        assert engine.evaluate(request, reference, now) == first


@FAST
@given(data=st.data(), config=configs())
def test_a_looser_config_differs_only_where_loosening_says_so(
    data: st.DataObject, config: PolicyConfig
) -> None:
    new = data.draw(looser(config))
    assert (loosening(config, new) == []) == (new == config)


@FAST
@given(config=configs(), history=st.lists(orders(), max_size=40))
def test_what_gets_through_never_exceeds_the_rate_and_daily_limits(
    config: PolicyConfig, history: list
) -> None:
    engine = PolicyEngine(account=ACCOUNT, config=config)
    sent: list[tuple[int, Allowed]] = []
    now = NOW
    for i, (request, reference, step) in enumerate(history):
        now += step // 8  # dense enough to reach the per-minute limit
        request = dataclasses.replace(request, client_order_id=f"h{i}")
        decision = engine.evaluate(request, dataclasses.replace(reference, as_of_ms=now), now)
        if isinstance(decision, Allowed):
            engine.record_sent(request, now)
            sent.append((now, decision))
    for at, decision in sent:
        in_minute = [d for t, d in sent if at - 60_000 < t <= at]
        assert len(in_minute) <= config.max_orders_per_minute
        limits = config.limits_for(decision.quote)
        assert limits is not None
        assert decision.notional <= limits.max_order_notional
        day = sum(
            (d.notional for t, d in sent if at - 86_400_000 < t <= at and d.quote == decision.quote),
            Decimal(0),
        )
        assert day <= limits.max_daily_notional


@FAST
@given(config=configs(), final=orders())
def test_buys_at_or_below_and_sells_at_or_above_the_reference_never_break_max_deviation(
    config: PolicyConfig, final: tuple
) -> None:
    request, reference, _ = final
    if request.type == "limit":
        price = reference.price * (Decimal("0.5") if request.side == "buy" else Decimal(3))
        request = dataclasses.replace(request, price=price)
    else:
        reference = dataclasses.replace(reference, bid=None, ask=None)
    decision = PolicyEngine(account=ACCOUNT, config=config).evaluate(request, reference, NOW)
    assert not (isinstance(decision, Denied) and decision.rule is Rule.MAX_DEVIATION)


@FAST
@given(config=configs(), final=orders(), factor=decimals("1.001", "20", places=3))
def test_a_buy_priced_beyond_the_deviation_never_gets_through(
    config: PolicyConfig, final: tuple, factor: Decimal
) -> None:
    request, reference, _ = final
    price = reference.price * (1 + config.max_deviation_pct / 100) * factor
    request = dataclasses.replace(
        request, type="limit", side="buy", price=price, amount=Decimal("0.001"), quote_amount=None
    )
    decision = PolicyEngine(account=ACCOUNT, config=config).evaluate(request, reference, NOW)
    assert isinstance(decision, Denied)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**40),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.sampled_from(
        [
            Decimal("NaN"),
            Decimal("sNaN"),
            Decimal("Infinity"),
            Decimal("-0"),
            Decimal("1E+999999"),
            Decimal("1E-999999"),
            Decimal("0E+99"),
            Decimal("1." + "7" * 60),
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["buy", "sell", "limit", "market", ACCOUNT, "ETH/USDT", "PUMP/USDT"]),
)


@FAST
@given(
    config=configs(),
    final=orders(),
    garbage=st.dictionaries(
        st.sampled_from(
            [
                "account",
                "symbol",
                "side",
                "type",
                "amount",
                "price",
                "quote_amount",
                "client_order_id",
                "reduces_exposure",
            ]
        ),
        junk,
        max_size=4,
    ),
    ref_garbage=st.dictionaries(
        st.sampled_from(["symbol", "price", "bid", "ask", "quote_volume_24h", "as_of_ms"]), junk, max_size=2
    ),
)
def test_hostile_input_never_raises_and_every_denial_names_a_known_rule(
    config: PolicyConfig, final: tuple, garbage: dict, ref_garbage: dict
) -> None:
    request = dataclasses.replace(final[0], **garbage)
    reference = dataclasses.replace(final[1], **ref_garbage)
    engine = PolicyEngine(account=ACCOUNT, config=config)
    decision = engine.evaluate(request, reference, NOW)
    if isinstance(decision, Denied):
        assert decision.rule in RULES
        assert decision.message.startswith(f"{decision.rule}: ")
        assert len(decision.message) < 1000
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in decision.compared_values.items())
    else:
        assert isinstance(decision, Allowed)
        assert isinstance(decision.notional, Decimal)
        assert decision.notional.is_finite()
        assert decision.notional > 0
        engine.record_sent(request, NOW)


@FAST
@given(config=configs())
def test_config_survives_a_round_trip_through_to_dict(config: PolicyConfig) -> None:
    again = PolicyConfig.from_mapping(config.to_dict())
    assert again == config
    assert again.to_dict() == config.to_dict()
