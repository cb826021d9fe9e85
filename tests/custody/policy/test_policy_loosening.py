"""loosening(): every change that lets more through is listed, tightening is not."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from bastion.custody.policy import PolicyConfig, PolicyState, QuoteLimits, loosening

BTC = QuoteLimits(
    max_order_notional=Decimal("0.05"), max_daily_notional=Decimal("0.5"), min_volume_24h=Decimal(100)
)
BASE = PolicyConfig(
    pairs=("BTC/USDT", "ETH/BTC"),
    quote_limits={"BTC": BTC},
    state=PolicyState.REDUCING,
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"pairs": ("BTC/USDT", "ETH/BTC", "SOL/USDT")}, "pairs: added SOL/USDT"),
        ({"max_order_notional": Decimal(2000)}, "max_order_notional (USDT): 1000 -> 2000 USDT, higher"),
        ({"max_daily_notional": Decimal(20000)}, "max_daily_notional (USDT): 10000 -> 20000 USDT, higher"),
        ({"min_volume_24h": Decimal(500_000)}, "min_volume_24h (USDT): 1000000 -> 500000 USDT, lower"),
        (
            {"quote_limits": {"BTC": dataclasses.replace(BTC, max_order_notional=Decimal("0.1"))}},
            "max_order_notional (BTC): 0.05 -> 0.1 BTC, higher",
        ),
        (
            {"quote_limits": {"BTC": BTC, "EUR": BTC}},
            "quote_limits: added EUR (max_order_notional 0.05, max_daily_notional 0.5, min_volume_24h 100)",
        ),
        ({"max_orders_per_minute": 31}, "max_orders_per_minute: 30 -> 31, higher"),
        ({"max_deviation_pct": Decimal("2.5")}, "max_deviation_pct: 2 -> 2.5 %, higher"),
        (
            {"max_reference_age_ms": 60_000},
            "max_reference_age_ms: 30000 -> 60000 ms, older references accepted",
        ),
        ({"state": PolicyState.ACTIVE}, "state: reducing -> active"),
        ({"denial_burst": 6}, "denial_burst: 5 -> 6 denials before the account halts"),
        (
            {"denial_window_ms": 30_000},
            "denial_window_ms: 60000 -> 30000 ms, a shorter window halts less often",
        ),
    ],
)
def test_each_loosening_change_is_listed(change: dict, expected: str) -> None:
    new = dataclasses.replace(BASE, **change)
    assert loosening(BASE, new) == [expected]
    assert loosening(new, BASE) == []


def test_halted_to_reducing_is_loosening_and_reducing_to_halted_is_not() -> None:
    halted = dataclasses.replace(BASE, state=PolicyState.HALTED)
    assert loosening(halted, BASE) == ["state: halted -> reducing"]
    assert loosening(BASE, halted) == []


def test_unchanged_and_tightened_configs_list_nothing() -> None:
    assert loosening(BASE, BASE) == []
    tighter = dataclasses.replace(
        BASE,
        pairs=("BTC/USDT",),
        quote_limits={},
        max_order_notional=Decimal(10),
        min_volume_24h=Decimal(10**9),
        max_deviation_pct=Decimal(1),
        max_orders_per_minute=1,
        denial_burst=1,
        denial_window_ms=3_600_000,
        state=PolicyState.HALTED,
    )
    assert loosening(BASE, tighter) == []


def test_several_changes_are_listed_in_a_stable_order() -> None:
    new = dataclasses.replace(
        BASE, pairs=("BTC/USDT", "ETH/BTC", "ETH/USDT"), max_deviation_pct=Decimal(5), state="active"
    )
    assert loosening(BASE, new) == [
        "pairs: added ETH/USDT",
        "max_deviation_pct: 2 -> 5 %, higher",
        "state: reducing -> active",
    ]


def test_limits_that_move_with_the_quote_currency_are_compared_per_currency() -> None:
    # Dropping BTC limits and its pair is tightening; getting them back is loosening.
    usdt_only = PolicyConfig(pairs=("BTC/USDT",), state=PolicyState.REDUCING)
    assert loosening(BASE, usdt_only) == []
    assert loosening(usdt_only, BASE)[0] == "pairs: added ETH/BTC"
