"""Revoke instructions: numbered, concrete steps per exchange, and a generic fallback."""

from __future__ import annotations

import re

import pytest

from bastion.custody.signer.revoke import revoke_instructions

API_PAGES = {
    "binance": "https://www.binance.com/en/my/settings/api-management",
    "okx": "https://www.okx.com/account/my-api",
    "bybit": "https://www.bybit.com/app/user/api-management",
    "kucoin": "https://www.kucoin.com/account/api",
    "gate": "https://www.gate.com/myaccount/apiv4keys",
    "kraken": "https://pro.kraken.com/app/settings/api",
    "coinbase": "https://portal.cdp.coinbase.com/access/api",
}


def numbered(steps: tuple[str, ...]) -> None:
    assert steps
    for i, step in enumerate(steps, 1):
        assert step.startswith(f"{i}. "), step
        assert step.endswith((".", ")")), step


@pytest.mark.parametrize("exchange_id", sorted(API_PAGES))
def test_each_exchange_gets_its_api_page_delete_order_checks_and_a_safer_new_key(exchange_id):
    steps = revoke_instructions(exchange_id)
    numbered(steps)
    text = " ".join(steps)
    assert API_PAGES[exchange_id] in steps[0]
    assert "Delete" in steps[1]
    assert "open orders" in text
    assert "cancel" in text
    assert "bastion keys check" in text
    assert "history" in text
    assert "signer's IP address" in steps[-1]
    assert "bastion keys add" in steps[-1]


def test_the_new_key_gets_only_trading_permissions_in_the_exchanges_words():
    assert '"Enable Reading" and "Enable Spot & Margin Trading" only' in revoke_instructions("binance")[-1]
    assert '"Read" and "Trade" permissions only' in revoke_instructions("okx")[-1]
    assert "SPOT trade permission only" in revoke_instructions("bybit")[-1]
    assert '"General" and "Spot" permissions only' in revoke_instructions("kucoin")[-1]


def test_bybit_says_keys_are_deleted_on_the_website_only():
    assert "cannot be deleted in the app" in revoke_instructions("bybit")[0]


def test_the_simulator_variant_removes_the_key_from_its_keys_file_and_restarts():
    steps = revoke_instructions("simulator")
    numbered(steps)
    text = " ".join(steps)
    assert "bastion keys remove" in steps[0]
    assert "keys file" in text
    assert "restart the simulator" in text
    assert "/_sim/orders" in text


def test_other_ccxt_exchanges_get_generic_steps_naming_their_website():
    steps = revoke_instructions("bitstamp")
    numbered(steps)
    assert "bitstamp's website (https://" in steps[0]
    assert "delete it" in steps[1]


def test_ids_that_are_not_plain_names_are_not_echoed():
    steps = revoke_instructions("<script>alert(1)</script>")
    numbered(steps)
    assert "<script>" not in " ".join(steps)
    assert "the exchange's website" in steps[0]


def test_steps_never_ask_for_or_show_a_secret():
    for exchange_id in (*API_PAGES, "simulator", "simulator-kucoin", "gate", "kraken", "coinbase", "bitstamp"):
        text = " ".join(revoke_instructions(exchange_id)).lower()
        assert re.search(r"\bsecret\b|passphrase", text) is None
