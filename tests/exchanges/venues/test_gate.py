"""Gate's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest

from bastion.exchanges.venues import get_venue
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("gate")
MARKET_ID = "BTC_USDT"
ANSWERS = {"/api/v4/spot/currency_pairs": [], "/api/v4/margin/currency_pairs": []}

EXPECTED = {
    "load_markets": ("GET", "/api/v4/spot/currency_pairs"),
    "create_limit_order": ("POST", "/api/v4/spot/orders"),
    "create_ioc_order": ("POST", "/api/v4/spot/orders"),
    "cancel_order": ("DELETE", "/api/v4/spot/orders/1"),
    "cancel_by_client_id": ("DELETE", "/api/v4/spot/orders/t-b1"),
    "fetch_order_by_client_id": ("GET", "/api/v4/spot/orders/t-b1"),
    "fetch_balance": ("GET", "/api/v4/spot/accounts"),
    "fetch_my_trades": ("GET", "/api/v4/spot/my_trades"),
}


@pytest.mark.parametrize(("name", "call"), UNIFIED, ids=[name for name, _ in UNIFIED])
def test_every_unified_spot_method_we_use_stays_on_the_allowlist(name, call):
    sent = run_unified(VENUE, name, call, MARKET_ID, ANSWERS)
    if name in EXPECTED:
        assert EXPECTED[name] in sent, sent
    assert ("GET", "/api/v4/account/detail") not in sent  # no unified-account probe


def test_the_list_holds_nothing_that_moves_money_or_manages_keys():
    assert_no_money_moving_path(VENUE)


@pytest.mark.parametrize(
    ("method", "params", "verb", "path"),
    [
        ("private_withdrawals_post_withdrawals", {"currency": "USDT", "amount": "1"}, "POST", "/api/v4/withdrawals"),
        ("private_wallet_post_transfers", {"currency": "USDT", "amount": "1"}, "POST", "/api/v4/wallet/transfers"),
        ("private_wallet_post_sub_account_transfers", {}, "POST", "/api/v4/wallet/sub_account_transfers"),
        ("private_margin_post_loans", {}, "POST", "/api/v4/margin/loans"),
        ("private_spot_post_batch_orders", {}, "POST", "/api/v4/spot/batch_orders"),
        ("private_account_get_main_keys", {}, "GET", "/api/v4/account/main_keys"),
    ],
)
def test_withdraw_transfer_and_key_paths_are_refused(method, params, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(lambda: getattr(client, method)(params), "gate", verb, path)
    assert sent == []


def test_gateio_is_an_alias_of_gate_and_client_ids_are_written_as_gate_text():
    assert get_venue("gateio") is VENUE
    assert VENUE.lookup("b1") == ("t-b1", {})
    assert VENUE.lookup("t-b1") == ("t-b1", {})
    assert VENUE.permission_method is None  # Gate's API does not report a key's permissions
