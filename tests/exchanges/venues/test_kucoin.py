"""KuCoin's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest

from bastion.exchanges.venues import get_venue
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("kucoin")
MARKET_ID = "BTC-USDT"
ANSWERS = {
    "/api/v2/symbols": {"code": "200000", "data": []},
    "/api/v1/market/allTickers": {"code": "200000", "data": {"ticker": []}},
    "/api/v1/hf/accounts/opened": {"code": "200000", "data": True},
}
EXPECTED = {
    "load_markets": ("GET", "/api/v2/symbols"),
    # the markets are set without load_markets, so ccxt uses the classic (not hf) endpoints
    "create_limit_order": ("POST", "/api/v1/orders"),
    "cancel_by_client_id": ("DELETE", "/api/v1/order/client-order/b1"),
    "fetch_order_by_client_id": ("GET", "/api/v1/order/client-order/b1"),
    "fetch_balance": ("GET", "/api/v1/accounts"),
    "fetch_my_trades": ("GET", "/api/v1/fills"),
    "fetch_permissions": ("GET", "/api/v1/user/api-key"),
}


@pytest.mark.parametrize(("name", "call"), UNIFIED, ids=[name for name, _ in UNIFIED])
def test_every_unified_spot_method_we_use_stays_on_the_allowlist(name, call):
    sent = run_unified(VENUE, name, call, MARKET_ID, ANSWERS)
    if name in EXPECTED:
        assert EXPECTED[name] in sent, sent
    assert ("GET", "/api/v3/margin/symbols") not in sent  # the margin symbol lists are skipped


def test_the_list_holds_nothing_that_moves_money_or_manages_keys():
    assert_no_money_moving_path(VENUE)


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("private_post_withdrawals", "POST", "/api/v3/withdrawals"),
        ("private_post_accounts_inner_transfer", "POST", "/api/v2/accounts/inner-transfer"),
        ("private_post_accounts_universal_transfer", "POST", "/api/v3/accounts/universal-transfer"),
        ("private_post_sub_api_key", "POST", "/api/v1/sub/api-key"),
        ("private_post_margin_borrow", "POST", "/api/v3/margin/borrow"),
    ],
)
def test_withdraw_transfer_and_key_paths_are_refused(method, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(lambda: getattr(client, method)({"currency": "USDT"}), "kucoin", verb, path)
    assert sent == []


def test_orders_are_found_by_client_id_with_client_oid():
    assert VENUE.lookup("b1") == (None, {"clientOid": "b1"})
    assert VENUE.trade_paging == "time"


@pytest.mark.parametrize("ours", ["b1-1-tp.0", "b12-3-so2", "bastion-0001_a", "a_b.c__d", "x" * 20, "_", "."])
def test_client_ids_round_trip_through_kucoins_alphabet(ours):
    sent = VENUE.encode_client_id(ours)
    assert set(sent) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    assert VENUE.decode_client_id(sent) == ours
    assert VENUE.lookup(ours) == (None, {"clientOid": sent})


def test_client_ids_not_written_by_bastion_come_back_unchanged():
    assert VENUE.decode_client_id("5c52e11203aa677f33e493fb") == "5c52e11203aa677f33e493fb"
    assert VENUE.decode_client_id("web_x1") == "web_x1"
