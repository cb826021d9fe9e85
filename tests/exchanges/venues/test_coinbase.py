"""Coinbase's module: ccxt's unified spot methods stay on its allowlist; money-moving paths are refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bastion.custody.signer.permissions import assess
from bastion.exchanges.venues import get_venue
from support import venue_harness
from support.venue_harness import UNIFIED, assert_no_money_moving_path, assert_refused, canned_client, run_unified

VENUE = get_venue("coinbase")
MARKET_ID = "BTC-USDT"
ANSWERS = {
    "/api/v3/brokerage/market/products": {"products": []},
    "/api/v3/brokerage/transaction_summary": {"fee_tier": {"maker_fee_rate": "0.004", "taker_fee_rate": "0.006"}},
}
V3 = "/api/v3/brokerage"
EXPECTED = {
    "load_markets": ("GET", f"{V3}/transaction_summary"),
    "fetch_ticker": ("GET", f"{V3}/market/products/BTC-USDT/ticker"),
    "create_limit_order": ("POST", f"{V3}/orders"),
    "cancel_order": ("POST", f"{V3}/orders/batch_cancel"),
    "fetch_order": ("GET", f"{V3}/orders/historical/1"),
    "fetch_open_orders": ("GET", f"{V3}/orders/historical/batch"),
    "fetch_balance": ("GET", "/v2/accounts"),
    "fetch_my_trades": ("GET", f"{V3}/orders/historical/fills"),
    "fetch_permissions": ("GET", f"{V3}/key_permissions"),
}


@pytest.fixture(autouse=True)
def ec_secret(monkeypatch):
    # Coinbase signs with an EC private key (JWT): a throwaway one, generated here.
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        .decode()
    )
    monkeypatch.setattr(venue_harness, "CREDENTIALS", {"apiKey": "organizations/x/apiKeys/y", "secret": pem})


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
        ("v2_private_post_accounts_account_id_withdrawals", "POST", "/v2/accounts/a1/withdrawals"),
        ("v2_private_post_accounts_account_id_transactions", "POST", "/v2/accounts/a1/transactions"),
        ("v3_private_post_brokerage_portfolios_move_funds", "POST", f"{V3}/portfolios/move_funds"),
        ("v3_private_post_brokerage_convert_quote", "POST", f"{V3}/convert/quote"),
    ],
)
def test_withdraw_transfer_and_convert_paths_are_refused(method, verb, path):
    client, sent = canned_client(VENUE, ANSWERS)
    assert_refused(lambda: getattr(client, method)({"account_id": "a1"}), "coinbase", verb, path)
    assert sent == []


def test_a_key_that_can_transfer_is_refused_and_orders_cannot_be_found_by_client_id():
    assert VENUE.parse_permissions is not None
    perms = VENUE.parse_permissions({"can_view": True, "can_trade": True, "can_transfer": True, "portfolio_uuid": "p"})
    reasons = assess(perms, exchange_id="coinbase", allow_unrestricted_ip=True)
    assert len(reasons) == 1
    assert 'untick the "Transfer" permission' in reasons[0]
    safe = VENUE.parse_permissions({"can_view": True, "can_trade": True, "can_transfer": False})
    assert assess(safe, exchange_id="coinbase", allow_unrestricted_ip=True) == ()
    assert assess(safe, exchange_id="coinbase", allow_unrestricted_ip=False)  # the IP allowlist is not reported
    with pytest.raises(ValueError, match="cannot find an order by client order id"):
        VENUE.lookup("b1")
