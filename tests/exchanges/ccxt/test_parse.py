"""ccxt records into port records: an order's fills carry the order's symbol and side."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.errors import ExchangeError
from bastion.exchanges.ccxt.parse import parse_order, parse_trade


def test_an_orders_fills_without_side_or_symbol_take_the_orders() -> None:
    # Binance's order answer lists fills with price, qty and fee only; ccxt leaves side and symbol None.
    fill = {"id": "11", "price": "16500", "amount": "0.001", "fee": {"cost": "0.01", "currency": "USDT"}}
    order = {
        "id": "7",
        "clientOrderId": "b1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "market",
        "status": "closed",
        "amount": "0.001",
        "filled": "0.001",
        "cost": "16.5",
        "price": None,
        "timestamp": 1_700_000_000_000,
        "trades": [{**fill, "symbol": None, "side": None}],
    }
    [trade] = parse_order(order).trades
    assert (trade.symbol, trade.side, trade.order_id) == ("BTC/USDT", "buy", "7")
    assert trade.amount == Decimal("0.001")


def test_a_trade_that_names_no_side_at_all_is_refused() -> None:
    with pytest.raises(ExchangeError, match="without symbol or side"):
        parse_trade({"id": "1", "order": "7", "timestamp": 1, "symbol": "BTC/USDT", "side": None})
