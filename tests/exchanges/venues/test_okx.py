"""OKX's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest

from bastion.exchanges.venues import get_venue
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("okx")
MARKET_ID = "BTC-USDT"
ANSWERS = {"/api/v5/public/instruments": {"code": "0", "data": []}}
EXPECTED = {
    "load_markets": ("GET", "/api/v5/public/instruments"),
    "create_limit_order": ("POST", "/api/v5/trade/order"),
    "cancel_order": ("POST", "/api/v5/trade/cancel-order"),
    "fetch_order_by_client_id": ("GET", "/api/v5/trade/order"),
    "fetch_balance": ("GET", "/api/v5/account/balance"),
    "fetch_permissions": ("GET", "/api/v5/account/config"),
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
        ("private_post_asset_withdrawal", "POST", "/api/v5/asset/withdrawal"),
        ("private_post_asset_transfer", "POST", "/api/v5/asset/transfer"),
        ("private_post_trade_batch_orders", "POST", "/api/v5/trade/batch-orders"),
        ("private_post_account_set_leverage", "POST", "/api/v5/account/set-leverage"),
    ],
)
def test_withdraw_transfer_and_batch_paths_are_refused(method, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(lambda: getattr(client, method)({"ccy": "USDT", "amt": "1"}), "okx", verb, path)
    assert sent == []
