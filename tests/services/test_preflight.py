"""Pre-flight in memory: every order a config can produce against the policy and the free balance."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bastion.bots.registry import load_config
from bastion.custody.policy.config import PolicyConfig, QuoteLimits
from bastion.domain import Market
from bastion.services.preflight import check, plan


def _market(symbol: str, tick: str, lot: str, min_notional: str) -> Market:
    base, quote = symbol.split("/")
    step = D(lot)
    return Market(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=D(tick),
        lot_step=step,
        min_amount=step,
        min_notional=D(min_notional),
    )


BTC_USDT = _market("BTC/USDT", "0.01", "0.00001", "5")
ETH_USDT = _market("ETH/USDT", "0.01", "0.0001", "5")
ETH_BTC = _market("ETH/BTC", "0.00001", "0.001", "0.0001")
MARKETS = {m.symbol: m for m in (BTC_USDT, ETH_USDT, ETH_BTC)}
PRICES = {"BTC/USDT": D(60000), "ETH/USDT": D(3000), "ETH/BTC": D("0.05")}
POLICY = PolicyConfig(pairs=("BTC/USDT", "ETH/USDT"), max_order_notional=D(1000), max_daily_notional=D(10000))
RICH = {"USDT": D(1_000_000), "BTC": D(100), "ETH": D(1000)}


def _dca(**fields: str) -> str:
    base = {
        "name": '"d1"',
        "type": '"dca"',
        "account": '"main"',
        "pairs": '["BTC/USDT"]',
        "base_order_size": '"100"',
        "safety_order_size": '"100"',
        "max_safety_orders": "5",
        "price_deviation_pct": '"1"',
        "safety_order_volume_scale": '"2"',
        "take_profit_pct": '"1"',
    }
    base.update(fields)
    return "\n".join(f"{k} = {v}" for k, v in base.items())


def _breaches(toml: str, *, policy: PolicyConfig | None = POLICY, balances: dict[str, D] | None = None):
    return check(
        plan(load_config(toml), MARKETS, PRICES), policy=policy, balances=RICH if balances is None else balances
    )


def test_a_dca_bot_that_fits_the_policy_and_the_balance_passes() -> None:
    assert _breaches(_dca(max_safety_orders="3")) == ()


def test_an_oversized_dca_base_order_is_refused_with_the_numbers() -> None:
    breach, daily = _breaches(_dca(base_order_size='"20000"', max_safety_orders="0", safety_order_size='"10"'))
    assert (daily.rule, daily.asked, daily.limit) == ("max_daily_notional", D(20000), D(10000))
    assert breach.rule == "max_order_notional"
    assert (breach.asked, breach.limit, breach.currency) == (D(20000), D(1000), "USDT")
    assert "base order" in breach.what
    assert str(breach).endswith("20000 USDT asked, limit 1000 USDT (rule max_order_notional)")


def test_each_safety_order_of_the_ladder_is_checked_with_the_bots_own_sizes() -> None:
    # SO * vs**(n-1) with SO 100, vs 2: 100, 200, 400, 800, 1600: only the fifth is over 1000.
    breaches = _breaches(_dca())
    assert [(b.rule, b.asked) for b in breaches] == [("max_order_notional", D(1600))]
    assert "safety order 5" in breaches[0].what
    # ... at the price the bot would place it: 1 % x 5 below the base price.
    assert "at 57000" in breaches[0].what


def test_max_active_deals_times_the_largest_deal_is_checked_against_the_daily_budget() -> None:
    # one deal: 100 + 100 + 200 + 400 + 800 = 1600 USDT; 7 deals on 7 pairs would be 11200.
    toml = _dca(max_safety_orders="4", pairs='["BTC/USDT", "ETH/USDT"]', max_active_deals="2")
    assert _breaches(toml) == ()
    policy = PolicyConfig(pairs=("BTC/USDT", "ETH/USDT"), max_order_notional=D(1000), max_daily_notional=D(3000))
    (breach,) = _breaches(toml, policy=policy)
    assert (breach.rule, breach.asked, breach.limit) == ("max_daily_notional", D(3200), D(3000))
    assert breach.what.startswith("2 deal(s) x the largest deal")


def test_a_long_dca_needs_its_full_ladder_in_free_quote() -> None:
    (breach,) = _breaches(_dca(max_safety_orders="4"), balances={"USDT": D(1000)})
    assert (breach.rule, breach.asked, breach.limit, breach.currency) == ("free_balance", D(1600), D(1000), "USDT")


def test_a_short_dca_needs_base_not_quote() -> None:
    toml = _dca(max_safety_orders="1", direction='"short"', take_profit_pct='"1"')
    assert _breaches(toml, balances={"USDT": D(0), "BTC": D(1)}) == ()
    (breach,) = _breaches(toml, balances={"USDT": D(10**6), "BTC": D("0.001")})
    assert (breach.rule, breach.currency) == ("free_balance", "BTC")
    # base order 100/60000 and safety order 100/60600, each floored to the lot
    assert breach.asked == D("0.00166") + D("0.00165")


def test_a_pair_outside_the_allowlist_is_named_and_other_quotes_use_their_own_limits() -> None:
    toml = _dca(pairs='["BTC/USDT", "ETH/BTC"]', max_safety_orders="0", base_order_size='"0.01"')
    policy = PolicyConfig(pairs=("BTC/USDT",))
    rules = {(b.rule, b.what) for b in _breaches(toml, policy=policy)}
    assert ("pair_not_allowed", "ETH/BTC") in rules
    limits = {"BTC": QuoteLimits(max_order_notional=D("0.005"), max_daily_notional=D(1), min_volume_24h=D(0))}
    policy = PolicyConfig(pairs=("BTC/USDT", "ETH/BTC"), quote_limits=limits)
    (breach,) = _breaches(toml, policy=policy)
    assert (breach.rule, breach.asked, breach.limit, breach.currency) == (
        "max_order_notional",
        D("0.01"),
        D("0.005"),
        "BTC",
    )


GRID = """
name = "g1"
type = "grid"
account = "main"
pair = "BTC/USDT"
lower_price = "50000"
upper_price = "70000"
grid_count = 4
investment_quote = "8000"
"""


def test_grid_level_orders_and_the_start_buy_come_from_the_grids_own_first_decision() -> None:
    orders = plan(load_config(GRID), MARKETS, PRICES).orders
    whats = [o.what for o in orders]
    # price 60000 is level 2: intervals 0 and 1 get buys, 2 and 3 a start buy at market.
    assert whats[0] == "grid start buy (market)"
    assert "grid buy at 50000" in whats
    assert "grid buy at 55000" in whats
    assert [w for w in whats if w.startswith("grid sell")] == [
        f"grid sell at {p}" for p in (55000, 60000, 65000, 70000)
    ]
    (breach, *more) = _breaches(GRID)
    assert breach.rule == "max_order_notional"
    assert "start buy" in breach.what
    # 2000 USDT per interval at 60000 and 65000: 0.03333 + 0.03076 BTC at the market price
    assert breach.asked == (D("0.03333") + D("0.03076")) * 60000
    assert all(b.rule == "max_order_notional" for b in more)


def test_a_grid_that_fits_passes_and_one_short_of_quote_is_refused() -> None:
    small = GRID.replace('"8000"', '"2000"')
    assert _breaches(small) == ()
    (breach,) = _breaches(small, balances={"USDT": D(500)})
    assert (breach.rule, breach.currency, breach.limit) == ("free_balance", "USDT", D(500))
    assert D(1900) < breach.asked <= D(2000)


SMART = """
name = "s1"
type = "smart_trade"
account = "main"
pair = "BTC/USDT"
amount_quote = "2500"
entry = {type = "limit", price = "58000"}
take_profit = [{profit_pct = "2", amount_pct = "100"}]
"""


def test_a_smart_trade_entry_is_priced_at_its_limit() -> None:
    (breach,) = _breaches(SMART)
    assert breach.rule == "max_order_notional"
    assert "entry (limit)" in breach.what
    assert breach.asked == D("0.04310") * 58000  # 2500 / 58000 floored to the lot
    assert "at 58000" in breach.what
    assert _breaches(SMART.replace('"2500"', '"900"')) == ()


SIGNAL = """
name = "sig1"
type = "signal"
account = "main"
pairs = ["BTC/USDT", "ETH/USDT"]
order_size = "100"
max_order_size = "1500"
max_active_deals = 2
"""


def test_a_signal_bot_is_checked_at_the_largest_entry_a_signal_may_ask() -> None:
    breaches = _breaches(SIGNAL)
    assert {(b.rule, b.what.split()[0]) for b in breaches} == {
        ("max_order_notional", "BTC/USDT"),
        ("max_order_notional", "ETH/USDT"),
    }
    assert all("largest signal entry" in b.what for b in breaches)
    ok = SIGNAL.replace('"1500"', '"500"')
    assert _breaches(ok) == ()
    (breach,) = _breaches(ok, balances={"USDT": D(700)})
    assert (breach.rule, breach.limit) == ("free_balance", D(700))
    assert D(990) < breach.asked <= D(1000)


@pytest.mark.parametrize("policy", [None])
def test_without_a_policy_only_the_balance_is_checked(policy: PolicyConfig | None) -> None:
    toml = _dca(base_order_size='"20000"', max_safety_orders="0", safety_order_size='"10"')
    assert _breaches(toml, policy=policy) == ()


def test_a_restart_checks_the_free_balance_only_for_the_deals_it_may_still_open() -> None:
    toml = _dca(max_safety_orders="4", pairs='["BTC/USDT", "ETH/USDT"]', max_active_deals="2")
    bot_plan = plan(load_config(toml), MARKETS, PRICES)
    (breach,) = check(bot_plan, policy=POLICY, balances={"USDT": D(2000)})
    assert (breach.rule, breach.asked, breach.limit) == ("free_balance", D(3200), D(2000))
    # one deal already open (its 1600 are out of the free balance): one more deal must fit
    assert check(bot_plan, policy=POLICY, balances={"USDT": D(2000)}, open_deals=1) == ()
    assert check(bot_plan, policy=POLICY, balances={"USDT": D(0)}, open_deals=2) == ()
