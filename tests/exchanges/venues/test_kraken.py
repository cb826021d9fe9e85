"""Kraken's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest

from bastion.custody.signer.permissions import assess
from bastion.exchanges.venues import get_venue
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("kraken")
MARKET_ID = "XXBTZUSDT"
ANSWERS = {"/0/public/AssetPairs": {"error": [], "result": {}}}

EXPECTED = {
    "load_markets": ("GET", "/0/public/AssetPairs"),
    "create_limit_order": ("POST", "/0/private/AddOrder"),
    "cancel_order": ("POST", "/0/private/CancelOrder"),
    "fetch_order": ("POST", "/0/private/QueryOrders"),
    "fetch_open_orders": ("POST", "/0/private/OpenOrders"),
    "fetch_balance": ("POST", "/0/private/BalanceEx"),
    "fetch_my_trades": ("POST", "/0/private/TradesHistory"),
    "fetch_permissions": ("POST", "/0/private/GetApiKeyInfo"),
}
READS_BY_POST = frozenset(
    {
        "/0/private/QueryOrders",
        "/0/private/OpenOrders",
        "/0/private/ClosedOrders",
        "/0/private/BalanceEx",
        "/0/private/TradesHistory",
        "/0/private/GetApiKeyInfo",
    }
)


@pytest.mark.parametrize(("name", "call"), UNIFIED, ids=[name for name, _ in UNIFIED])
def test_every_unified_spot_method_we_use_stays_on_the_allowlist(name, call):
    sent = run_unified(VENUE, name, call, MARKET_ID, ANSWERS)
    if name in EXPECTED:
        assert EXPECTED[name] in sent, sent


def test_the_list_holds_nothing_that_moves_money_and_its_only_other_posts_are_reads():
    assert_no_money_moving_path(VENUE, private_posts_are_reads=READS_BY_POST)


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("private_post_withdraw", "POST", "/0/private/Withdraw"),
        ("private_post_withdrawinfo", "POST", "/0/private/WithdrawInfo"),
        ("private_post_wallettransfer", "POST", "/0/private/WalletTransfer"),
        ("private_post_accounttransfer", "POST", "/0/private/AccountTransfer"),
        ("private_post_depositaddresses", "POST", "/0/private/DepositAddresses"),
        ("private_post_cancelall", "POST", "/0/private/CancelAll"),
    ],
)
def test_withdraw_and_transfer_paths_are_refused(method, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(lambda: getattr(client, method)({"asset": "XBT", "amount": "1"}), "kraken", verb, path)
    assert sent == []


def test_key_info_with_withdraw_funds_or_no_ip_allowlist_is_refused_in_krakens_words():
    assert VENUE.parse_permissions is not None
    answer = {
        "error": [],
        "result": {
            "apiKeyName": "bot",
            "apiKey": "k" * 40,
            "permissions": ["query-funds", "withdraw-funds", "query-open-trades", "modify-trades"],
            "ipAllowlist": [],
        },
    }
    perms = VENUE.parse_permissions(answer)
    assert perms.can_withdraw
    assert perms.can_trade_spot
    assert perms.can_read
    assert not perms.ip_restricted
    assert perms.raw["apiKey"] == "****kkkk"
    reasons = assess(perms, exchange_id="kraken", allow_unrestricted_ip=False)
    assert any('untick "Withdraw Funds"' in r for r in reasons)
    assert any("IP address restriction" in r for r in reasons)
    safe = {
        "permissions": [
            "query-funds",
            "query-open-trades",
            "query-closed-trades",
            "modify-trades",
            "cancel-close-trades",
        ],
        "ipAllowlist": ["203.0.113.7"],
    }
    assert assess(VENUE.parse_permissions(safe), exchange_id="kraken", allow_unrestricted_ip=False) == ()
