"""Binance JSON shapes of orders, trades, accounts, restrictions and exchangeInfo."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from bastion.exchanges.simulator.format import dumps, fmt, places
from bastion.exchanges.simulator.keys import DEFAULT_RESTRICTIONS, KeyEntry
from bastion.exchanges.simulator.matching import FeeSchedule
from bastion.exchanges.simulator.orders import ORDER_TYPES, Order, Trade
from bastion.exchanges.simulator.rules import MarketRules

__all__ = [
    "Decimals",
    "account_json",
    "cancel_json",
    "exchange_info_fragment",
    "fill_json",
    "order_json",
    "placed_json",
    "restrictions_json",
    "trade_json",
]

_ZERO = "0.00000000"


class Decimals:
    """How many decimals a symbol prints for prices and quantities."""

    __slots__ = ("price", "qty")

    def __init__(self, rules: MarketRules) -> None:
        self.price = places(rules.tick_size)
        self.qty = places(rules.step_size)


def order_json(order: Order, d: Decimals) -> dict[str, Any]:
    """Return the ``GET /api/v3/order`` shape of ``order``."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price, d.price),
        "origQty": fmt(order.orig_qty, d.qty),
        "executedQty": fmt(order.executed_qty, d.qty),
        "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": _ZERO,
        "icebergQty": _ZERO,
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "workingTime": order.time,
        "origQuoteOrderQty": fmt(order.orig_quote_qty),
        "selfTradePreventionMode": "NONE",
    }


def fill_json(trade: Trade, d: Decimals) -> dict[str, Any]:
    """Return one entry of an order response's ``fills``."""
    return {
        "price": fmt(trade.price, d.price),
        "qty": fmt(trade.qty, d.qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "tradeId": trade.trade_id,
    }


def placed_json(order: Order, d: Decimals, resp_type: str) -> dict[str, Any]:
    """Return the ``POST /api/v3/order`` answer for ``resp_type`` ACK, RESULT or FULL."""
    head: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }
    if resp_type == "ACK":
        return head
    head.update(
        {
            "price": fmt(order.price, d.price),
            "origQty": fmt(order.orig_qty, d.qty),
            "executedQty": fmt(order.executed_qty, d.qty),
            "origQuoteOrderQty": fmt(order.orig_quote_qty),
            "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
            "status": order.status,
            "timeInForce": order.time_in_force,
            "type": order.type,
            "side": order.side,
            "workingTime": order.time,
            "selfTradePreventionMode": "NONE",
        }
    )
    if resp_type == "FULL":
        head["fills"] = [fill_json(t, d) for t in order.trades]
    return head


def cancel_json(order: Order, d: Decimals, client_order_id: str, now: int) -> dict[str, Any]:
    """Return the ``DELETE /api/v3/order`` answer; ``client_order_id`` is the cancel's own id."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": client_order_id,
        "transactTime": now,
        "price": fmt(order.price, d.price),
        "origQty": fmt(order.orig_qty, d.qty),
        "executedQty": fmt(order.executed_qty, d.qty),
        "origQuoteOrderQty": fmt(order.orig_quote_qty),
        "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "selfTradePreventionMode": "NONE",
    }


def trade_json(trade: Trade, d: Decimals) -> dict[str, Any]:
    """Return the ``GET /api/v3/myTrades`` shape of ``trade``."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt(trade.price, d.price),
        "qty": fmt(trade.qty, d.qty),
        "quoteQty": fmt(trade.quote_qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def _uid(account: str) -> int:
    return int.from_bytes(hashlib.sha256(account.encode()).digest()[:4]) % 900_000_000 + 100_000_000


def account_json(
    account: str,
    balances: dict[str, tuple[Decimal, Decimal]],
    key: KeyEntry,
    fees: FeeSchedule,
    now: int,
    *,
    omit_zero: bool = False,
) -> dict[str, Any]:
    """Return the ``GET /api/v3/account`` answer."""
    rows = [
        {"asset": asset, "free": fmt(free), "locked": fmt(locked)}
        for asset, (free, locked) in sorted(balances.items())
        if not (omit_zero and free == 0 and locked == 0)
    ]
    return {
        "makerCommission": int(fees.maker * 10_000),
        "takerCommission": int(fees.taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": fmt(fees.maker), "taker": fmt(fees.taker), "buyer": _ZERO, "seller": _ZERO},
        "canTrade": key.allows("enableSpotAndMarginTrading"),
        "canWithdraw": key.allows("enableWithdrawals"),
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": rows,
        "permissions": ["SPOT"],
        "uid": _uid(account),
    }


def restrictions_json(key: KeyEntry, default_create_time: int) -> dict[str, Any]:
    """Return the ``GET /sapi/v1/account/apiRestrictions`` answer for ``key``."""
    result: dict[str, Any] = {"ipRestrict": key.allows("ipRestrict")}
    result["createTime"] = key.restrictions.get("createTime", default_create_time)
    for name in DEFAULT_RESTRICTIONS:
        if name != "ipRestrict":
            result[name] = key.allows(name)
    return result


def exchange_info_fragment(rules: MarketRules) -> bytes:
    """Return one symbol's exchangeInfo entry as JSON bytes."""
    d = Decimals(rules)
    entry = {
        "symbol": rules.symbol_id,
        "status": "TRADING",
        "baseAsset": rules.base,
        "baseAssetPrecision": 8,
        "quoteAsset": rules.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(rules.min_price, d.price),
                "maxPrice": fmt(rules.max_price, d.price),
                "tickSize": fmt(rules.tick_size, d.price),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(rules.min_qty, d.qty),
                "maxQty": fmt(rules.max_qty, d.qty),
                "stepSize": fmt(rules.step_size, d.qty),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(rules.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt(rules.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }
    return dumps(entry)
