"""Bybit's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest

from bastion.exchanges.venues import get_venue
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("bybit")
MARKET_ID = "BTCUSDT"
ANSWERS = {
    "/v5/market/instruments-info": {"retCode": 0, "result": {"list": []}},
    "/v5/user/query-api": {"retCode": 0, "result": {"unified": 0, "uta": 1}},
    "/v5/account/info": {"retCode": 0, "result": {"unifiedMarginStatus": 6}},
}
EXPECTED = {
    "load_markets": ("GET", "/v5/market/instruments-info"),
    "create_limit_order": ("POST", "/v5/order/create"),
    "cancel_order": ("POST", "/v5/order/cancel"),
    "fetch_balance": ("GET", "/v5/account/wallet-balance"),
    "fetch_my_trades": ("GET", "/v5/execution/list"),
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
        ("private_post_v5_asset_withdraw_create", "POST", "/v5/asset/withdraw/create"),
        ("private_post_v5_asset_transfer_inter_transfer", "POST", "/v5/asset/transfer/inter-transfer"),
        ("private_post_v5_user_update_api", "POST", "/v5/user/update-api"),
        ("private_post_v5_user_delete_api", "POST", "/v5/user/delete-api"),
    ],
)
def test_withdraw_transfer_and_key_paths_are_refused(method, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(lambda: getattr(client, method)({"coin": "USDT"}), "bybit", verb, path)
    assert sent == []
