"""The December 2022 incident, replayed against the firewall.

Leaked keys were used to place 4,200 orders in 84 minutes (one every 1.2 s), buying two
illiquid coins at about 9x their price. Here the pair is even on the victim's allowlist: the
worst case.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

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

START = 1_671_000_000_000
ORDERS = 4_200
STEP_MS = 84 * 60 * 1000 // ORDERS  # 1.2 s


def _replay(engine: PolicyEngine, symbol: str, reference_price: Decimal, volume: Decimal) -> list:
    decisions = []
    for i in range(ORDERS):
        now = START + i * STEP_MS
        reference = ReferenceMarket(
            symbol=symbol,
            price=reference_price,
            bid=reference_price * Decimal("0.99"),
            ask=reference_price * 9,  # the attackers' own asks, pumped
            quote_volume_24h=volume,
            as_of_ms=now - 500,
        )
        order = OrderRequest(
            account="victim",
            symbol=symbol,
            side="buy",
            type="limit",
            amount=Decimal(100),
            price=reference_price * 9,
            client_order_id=f"atk-{i}",
        )
        decision = engine.evaluate(order, reference, now)
        if isinstance(decision, Allowed):  # the signer would send it
            engine.record_sent(order, now)
        decisions.append(decision)
    return decisions


def _assert_stopped(decisions: list, first_rule: Rule) -> None:
    assert not any(isinstance(d, Allowed) for d in decisions)
    assert all(isinstance(d, Denied) for d in decisions)
    assert decisions[0].rule is first_rule
    assert [i for i, d in enumerate(decisions) if d.halted_now] == [4]
    rules = Counter(d.rule for d in decisions)
    assert rules == {first_rule: 5, Rule.STATE_HALTED: ORDERS - 5}
    assert decisions[4].alert is not None


def test_incident_on_an_allowlisted_illiquid_pair_is_stopped_at_once_and_halts() -> None:
    engine = PolicyEngine(account="victim", config=PolicyConfig(pairs=("BTC/USDT", "THIN/USDT")))
    decisions = _replay(engine, "THIN/USDT", Decimal("0.10"), volume=Decimal(40_000))
    _assert_stopped(decisions, Rule.MIN_VOLUME_24H)
    assert engine.state is PolicyState.HALTED
    assert dict(engine.usage(START + ORDERS * STEP_MS).notional_24h) == {}


def test_incident_at_nine_times_on_a_liquid_pair_is_stopped_by_the_deviation_rule() -> None:
    engine = PolicyEngine(account="victim", config=PolicyConfig(pairs=("LIQ/USDT",)))
    decisions = _replay(engine, "LIQ/USDT", Decimal("0.10"), volume=Decimal(10**8))
    _assert_stopped(decisions, Rule.MAX_DEVIATION)
    assert decisions[0].message == (
        "max_deviation: buy limit 0.90 is 800.00 % above the reference 0.10; the limit is 2 %"
    )


def test_incident_on_a_pair_the_victim_never_listed_is_stopped_by_the_allowlist() -> None:
    engine = PolicyEngine(account="victim", config=PolicyConfig(pairs=("BTC/USDT",)))
    decisions = _replay(engine, "THIN/USDT", Decimal("0.10"), volume=Decimal(40_000))
    _assert_stopped(decisions, Rule.PAIR_NOT_ALLOWED)


def test_attacker_who_stays_within_price_limits_is_bounded_by_the_daily_notional_then_halted() -> None:
    engine = PolicyEngine(account="victim", config=PolicyConfig(pairs=("LIQ/USDT",)))
    allowed_notional = Decimal(0)
    decisions = []
    for i in range(ORDERS):
        now = START + i * STEP_MS
        reference = ReferenceMarket(
            symbol="LIQ/USDT",
            price=Decimal(10),
            bid=Decimal("9.99"),
            ask=Decimal("10.01"),
            quote_volume_24h=Decimal(10**8),
            as_of_ms=now,
        )
        order = OrderRequest(
            account="victim",
            symbol="LIQ/USDT",
            side="buy",
            type="limit",
            amount=Decimal(98),
            price=Decimal("10.2"),
            client_order_id=f"atk-{i}",
        )
        decision = engine.evaluate(order, reference, now)
        if isinstance(decision, Allowed):
            engine.record_sent(order, now)
            allowed_notional += decision.notional
        decisions.append(decision)
    assert allowed_notional <= Decimal(10_000)
    assert sum(isinstance(d, Allowed) for d in decisions) == 10  # 10 x 999.6 USDT
    assert Counter(d.rule for d in decisions if isinstance(d, Denied))[Rule.MAX_DAILY_NOTIONAL] == 5
    assert engine.state is PolicyState.HALTED
    assert sum(d.halted_now for d in decisions) == 1
