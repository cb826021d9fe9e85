"""PolicyEngine: recording sends, the denial burst, state changes, history across config changes."""

from __future__ import annotations

import doctest
from collections.abc import Callable
from decimal import Decimal

import pytest

import bastion.custody.policy.engine as engine_module
from bastion.custody.policy import (
    Allowed,
    Denied,
    OrderRequest,
    PolicyConfig,
    PolicyEngine,
    PolicyState,
    ReferenceMarket,
    Rule,
)
from bastion.errors import ConfigError, ValidationError

NOW = 1_700_000_000_000

RequestFor = Callable[..., OrderRequest]
ReferenceFor = Callable[..., ReferenceMarket]
MakeEngine = Callable[..., PolicyEngine]


def test_engine_docstring_example_runs() -> None:
    result = doctest.testmod(engine_module, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


# --- record_sent -------------------------------------------------------------------------------


def test_evaluating_does_not_consume_budget_until_the_send_is_recorded(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_orders_per_minute=1)
    first = request_for(client_order_id="a")
    assert isinstance(engine.evaluate(first, reference_for(), NOW), Allowed)
    # The send failed, so record_sent was not called: the budget is intact.
    second = request_for(client_order_id="b")
    assert isinstance(engine.evaluate(second, reference_for(), NOW), Allowed)
    engine.record_sent(second, NOW)
    assert engine.usage(NOW).orders_last_minute == 1
    decision = engine.evaluate(request_for(client_order_id="c"), reference_for(), NOW)
    assert isinstance(decision, Denied)
    assert decision.rule is Rule.MAX_ORDERS_PER_MINUTE


def test_record_sent_refuses_a_request_that_was_not_allowed(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    never = request_for(client_order_id="never")
    with pytest.raises(
        ValidationError, match=r"record_sent: order 'never' was not allowed by evaluate\(\)"
    ):
        engine.record_sent(never, NOW)
    bad = request_for(client_order_id="bad", price=Decimal(900))
    assert isinstance(engine.evaluate(bad, reference_for(), NOW), Denied)
    with pytest.raises(ValidationError, match="'bad' was not allowed"):
        engine.record_sent(bad, NOW)


def test_record_sent_refuses_a_request_changed_after_evaluation(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    assert isinstance(engine.evaluate(request_for(client_order_id="x"), reference_for(), NOW), Allowed)
    with pytest.raises(ValidationError, match="only an allowed request, unchanged"):
        engine.record_sent(request_for(client_order_id="x", amount=Decimal(9)), NOW)
    with pytest.raises(ValidationError):
        engine.record_sent(request_for(client_order_id="x", amount=Decimal("sNaN")), NOW)


def test_record_sent_counts_an_order_once(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    order = request_for(client_order_id="once")
    assert isinstance(engine.evaluate(order, reference_for(), NOW), Allowed)
    engine.record_sent(order, NOW)
    with pytest.raises(ValidationError, match="already recorded"):
        engine.record_sent(order, NOW)
    assert engine.usage(NOW).orders_last_minute == 1
    assert engine.usage(NOW).notional_24h["USDT"] == Decimal(100)


def test_a_withdrawn_decision_cannot_be_recorded_and_uses_no_budget(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    order = request_for(client_order_id="retry")
    assert isinstance(engine.evaluate(order, reference_for(), NOW), Allowed)
    assert engine.withdraw("retry") is True
    assert engine.withdraw("retry") is False
    with pytest.raises(ValidationError, match="was not allowed"):
        engine.record_sent(order, NOW)
    assert engine.usage(NOW).orders_last_minute == 0


def test_market_order_is_recorded_at_the_notional_it_was_allowed_with(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    order = request_for(type="market", price=None, amount=Decimal(2))
    decision = engine.evaluate(order, reference_for(ask=Decimal("100.5")), NOW)
    assert isinstance(decision, Allowed)
    engine.record_sent(order, NOW + 20)
    assert engine.usage(NOW + 20).notional_24h["USDT"] == Decimal("201.0")


def test_preload_sent_restores_the_budget_after_a_restart(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    for i in range(10):
        engine.preload_sent(symbol="ETH/USDT", notional=Decimal(1000), sent_ms=NOW - 3_600_000 + i)
    decision = engine.evaluate(request_for(), reference_for(), NOW)
    assert isinstance(decision, Denied)
    assert decision.rule is Rule.MAX_DAILY_NOTIONAL
    with pytest.raises(ValidationError, match="notional must be a non-negative Decimal"):
        engine.preload_sent(symbol="ETH/USDT", notional=1000, sent_ms=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="spot symbol"):
        engine.preload_sent(symbol="ETHUSDT", notional=Decimal(1), sent_ms=NOW)


@pytest.mark.parametrize("now", [-1, 1.5, True, "1700000000000", None])
def test_a_bad_clock_value_is_a_caller_bug_and_raises(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor, now: object
) -> None:
    with pytest.raises(ValidationError, match="now_ms must be epoch milliseconds as a non-negative int"):
        engine.evaluate(request_for(), reference_for(), now)  # type: ignore[arg-type]


def test_engine_refuses_a_missing_account_or_config() -> None:
    with pytest.raises(ValidationError, match="account must be a non-empty str"):
        PolicyEngine(account="", config=PolicyConfig())
    with pytest.raises(ValidationError, match="config must be a PolicyConfig, got dict"):
        PolicyEngine(account="a", config={})  # type: ignore[arg-type]


# --- the denial burst ---------------------------------------------------------------------------


def test_five_denials_in_a_minute_halt_the_account_and_the_sixth_is_state_halted(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    bad = request_for(price=Decimal(900))
    times = [NOW + i * 10_000 for i in range(5)]
    decisions = [engine.evaluate(bad, reference_for(as_of_ms=t), t) for t in times]
    assert all(isinstance(d, Denied) and d.rule is Rule.MAX_DEVIATION for d in decisions)
    assert [d.halted_now for d in decisions] == [False, False, False, False, True]
    last = decisions[-1]
    assert isinstance(last, Denied)
    assert last.alert is not None
    assert last.alert.startswith("account alice HALTED by the trade policy: 5 orders denied within 60 s")
    assert engine.state is PolicyState.HALTED
    assert engine.config.state is PolicyState.HALTED
    sixth = engine.evaluate(request_for(), reference_for(as_of_ms=NOW + 50_000), NOW + 50_000)
    assert isinstance(sixth, Denied)
    assert (sixth.rule, sixth.halted_now, sixth.alert) == (Rule.STATE_HALTED, False, None)


def test_denials_spread_over_more_than_the_window_do_not_halt(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    bad = request_for(price=Decimal(900))
    for i in range(10):
        now = NOW + i * 15_000  # four per minute, never five
        decision = engine.evaluate(bad, reference_for(as_of_ms=now), now)
        assert isinstance(decision, Denied)
        assert not decision.halted_now
    assert engine.state is PolicyState.ACTIVE
    assert engine.usage(NOW + 9 * 15_000).denials_in_window == 4


def test_stale_reference_denials_do_not_count_towards_a_burst(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    stale = reference_for(as_of_ms=NOW - 120_000)
    for _ in range(10):
        decision = engine.evaluate(request_for(), stale, NOW)
        assert isinstance(decision, Denied)
        assert decision.rule is Rule.REFERENCE_STALE
    assert engine.state is PolicyState.ACTIVE


def test_configured_burst_size_is_used(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(denial_burst=2, denial_window_ms=1_000)
    bad = request_for(symbol="PUMP/USDT")
    first = engine.evaluate(bad, reference_for(), NOW)
    second = engine.evaluate(bad, reference_for(), NOW + 1_000)  # the first has left the window
    third = engine.evaluate(bad, reference_for(), NOW + 1_999)
    assert [d.halted_now for d in (first, second, third)] == [False, False, True]


def test_reactivating_after_a_halt_starts_a_new_burst_count(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    bad = request_for(price=Decimal(900))
    for _ in range(5):
        engine.evaluate(bad, reference_for(), NOW)
    assert engine.state is PolicyState.HALTED
    engine.set_state(PolicyState.ACTIVE)
    decision = engine.evaluate(bad, reference_for(), NOW)
    assert isinstance(decision, Denied)
    assert not decision.halted_now
    assert isinstance(engine.evaluate(request_for(), reference_for(), NOW), Allowed)


def test_set_state_refuses_an_unknown_state(engine: PolicyEngine) -> None:
    with pytest.raises(ConfigError, match="state must be one of active, reducing, halted, got 'paused'"):
        engine.set_state("paused")


# --- config changes -----------------------------------------------------------------------------


def test_set_config_keeps_the_history_of_sent_orders(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    order = request_for(amount=Decimal(10))
    assert isinstance(engine.evaluate(order, reference_for(), NOW), Allowed)
    engine.record_sent(order, NOW)
    engine.set_config(PolicyConfig(pairs=("ETH/USDT",), max_daily_notional=Decimal(1000)))
    decision = engine.evaluate(
        request_for(amount=Decimal("0.01"), client_order_id="c2"), reference_for(), NOW
    )
    assert isinstance(decision, Denied)
    assert decision.rule is Rule.MAX_DAILY_NOTIONAL
    assert repr(engine) == "PolicyEngine(account='alice', state=active)"


def test_usage_reports_the_budget_used(
    engine: PolicyEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    order = request_for(amount=Decimal(3))
    assert isinstance(engine.evaluate(order, reference_for(), NOW), Allowed)
    engine.record_sent(order, NOW)
    engine.evaluate(request_for(symbol="PUMP/USDT"), reference_for(), NOW)
    usage = engine.usage(NOW + 1)
    assert (usage.state, usage.orders_last_minute, usage.denials_in_window) == (PolicyState.ACTIVE, 1, 1)
    assert dict(usage.notional_24h) == {"USDT": Decimal(300)}


# --- reference from a ccxt ticker ------------------------------------------------------------------


def test_reference_from_ccxt_ticker_reads_floats_through_their_repr() -> None:
    ticker = {
        "symbol": "ETH/USDT",
        "timestamp": NOW - 2_000,
        "last": 2500.1,
        "bid": 2500.0,
        "ask": 2500.2,
        "quoteVolume": 123456789.5,
    }
    ref = ReferenceMarket.from_ccxt_ticker(ticker, received_ms=NOW)
    assert ref == ReferenceMarket(
        symbol="ETH/USDT",
        price=Decimal("2500.1"),
        bid=Decimal("2500.0"),
        ask=Decimal("2500.2"),
        quote_volume_24h=Decimal("123456789.5"),
        as_of_ms=NOW - 2_000,
    )


def test_reference_from_ccxt_ticker_falls_back_to_mid_and_receive_time() -> None:
    ticker = {"symbol": "ETH/USDT", "timestamp": None, "last": None, "bid": "99", "ask": "101"}
    ref = ReferenceMarket.from_ccxt_ticker(ticker, received_ms=NOW)
    assert (ref.price, ref.as_of_ms, ref.quote_volume_24h) == (Decimal(100), NOW, None)
    with pytest.raises(ValidationError, match="neither a last price nor bid and ask"):
        ReferenceMarket.from_ccxt_ticker({"symbol": "ETH/USDT", "bid": "99"}, received_ms=NOW)
    with pytest.raises(ValidationError, match="ticker must have a symbol"):
        ReferenceMarket.from_ccxt_ticker({"last": "1"}, received_ms=NOW)


def test_a_later_denial_withdraws_an_earlier_allowed_for_the_same_order(
    make_engine: MakeEngine, request_for: RequestFor, reference_for: ReferenceFor
) -> None:
    engine = make_engine(max_orders_per_minute=1)
    order = request_for(client_order_id="retry")
    assert isinstance(engine.evaluate(order, reference_for(), NOW), Allowed)
    engine.preload_sent(symbol="ETH/USDT", notional=Decimal(1), sent_ms=NOW)  # now the minute is full
    assert isinstance(engine.evaluate(order, reference_for(), NOW), Denied)
    with pytest.raises(ValidationError, match="'retry' was not allowed"):
        engine.record_sent(order, NOW)
