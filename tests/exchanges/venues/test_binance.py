"""Binance's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest

from bastion.exchanges.venues import get_venue
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("binance")
MARKET_ID = "BTCUSDT"
ANSWERS = {"/api/v3/exchangeInfo": {"symbols": []}}
EXPECTED = {
    "load_markets": ("GET", "/api/v3/exchangeInfo"),
    "create_limit_order": ("POST", "/api/v3/order"),
    "cancel_order": ("DELETE", "/api/v3/order"),
    "cancel_by_client_id": ("DELETE", "/api/v3/order"),
    "fetch_order_by_client_id": ("GET", "/api/v3/order"),
    "fetch_balance": ("GET", "/api/v3/account"),
    "fetch_my_trades": ("GET", "/api/v3/myTrades"),
    "fetch_permissions": ("GET", "/sapi/v1/account/apiRestrictions"),
}


@pytest.mark.parametrize(("name", "call"), UNIFIED, ids=[name for name, _ in UNIFIED])
def test_every_unified_spot_method_we_use_stays_on_the_allowlist(name, call):
    sent = run_unified(VENUE, name, call, MARKET_ID, ANSWERS)
    if name in EXPECTED:
        assert EXPECTED[name] in sent, sent


def test_the_list_holds_nothing_that_moves_money_or_manages_keys():
    assert_no_money_moving_path(VENUE)


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("sapi_post_capital_withdraw_apply", "POST", "/sapi/v1/capital/withdraw/apply"),
        ("sapi_post_asset_transfer", "POST", "/sapi/v1/asset/transfer"),
        ("sapi_post_sub_account_universaltransfer", "POST", "/sapi/v1/sub-account/universalTransfer"),
        ("sapi_post_margin_loan", "POST", "/sapi/v1/margin/loan"),
        ("fapiprivate_post_order", "POST", "/fapi/v1/order"),
        ("private_delete_openorders", "DELETE", "/api/v3/openOrders"),
    ],
)
def test_withdraw_transfer_and_derivative_paths_are_refused(method, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(
        lambda: getattr(client, method)({"symbol": "BTCUSDT", "asset": "USDT", "amount": "1"}), "binance", verb, path
    )
    assert sent == []


def test_orders_are_found_by_client_id_with_orig_client_order_id():
    assert VENUE.lookup("b1") == (None, {"origClientOrderId": "b1"})
