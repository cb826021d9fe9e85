"""KuCoin JSON shapes of symbols, currencies, tickers, books, candles, orders, fills and accounts.

Ids: KuCoin order ids are 24 hexadecimal characters; here they carry the symbol's index (8) and
the engine's order number (16), so an id found without a symbol (``GET /api/v1/orders/{id}``)
leads back to its engine. Trade ids are decimal strings of one length per symbol.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any

from bastion.exchanges.simulator.format import fmt
from bastion.exchanges.simulator.matching import FeeSchedule
from bastion.exchanges.simulator.orders import BUY, CANCELED, EXPIRED, LIMIT_MAKER, MARKET, Order, Trade
from bastion.exchanges.simulator.render import Decimals
from bastion.exchanges.simulator.rules import MarketRules

__all__ = [
    "account_json",
    "currency_json",
    "decode_order_id",
    "fill_json",
    "kucoin_symbol",
    "order_id",
    "order_json",
    "page",
    "plain",
    "symbol_json",
    "ticker_fields",
    "trade_id",
    "uid",
]

_ORDER_ID = re.compile(r"^[0-9a-f]{24}$")
_TRADE_BASE = 10**12
_MAX_SIZE = "10000000000"


def plain(value: Decimal) -> str:
    """Return ``value`` as KuCoin prints rules: no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def kucoin_symbol(rules: MarketRules) -> str:
    """Return KuCoin's symbol id, such as ``BTC-USDT``."""
    return f"{rules.base}-{rules.quote}"


def order_id(symbol_index: int, number: int) -> str:
    """Return the 24-hex order id of order ``number`` in the symbol at ``symbol_index``."""
    return f"{symbol_index:08x}{number:016x}"


def decode_order_id(text: str) -> tuple[int, int] | None:
    """Return ``(symbol_index, number)`` of an order id, or None if it is not one of ours."""
    if _ORDER_ID.match(text) is None:
        return None
    return int(text[:8], 16), int(text[8:], 16)


def trade_id(symbol_index: int, number: int) -> str:
    """Return the decimal trade id of trade ``number`` in the symbol at ``symbol_index``."""
    return str((symbol_index + 1) * _TRADE_BASE + number)


def symbol_json(rules: MarketRules) -> dict[str, Any]:
    """Return the ``GET /api/v2/symbols`` entry of a market."""
    sid = kucoin_symbol(rules)
    return {
        "symbol": sid,
        "name": sid,
        "baseCurrency": rules.base,
        "quoteCurrency": rules.quote,
        "feeCurrency": rules.quote,
        "market": rules.quote,
        "baseMinSize": plain(rules.min_qty),
        "quoteMinSize": plain(rules.min_notional),
        "baseMaxSize": plain(rules.max_qty),
        "quoteMaxSize": plain(rules.max_notional),
        "baseIncrement": plain(rules.step_size),
        "quoteIncrement": "0.00000001",
        "priceIncrement": plain(rules.tick_size),
        "priceLimitRate": "0.1",
        "minFunds": plain(rules.min_notional),
        "isMarginEnabled": False,
        "enableTrading": True,
        "feeCategory": 1,
        "makerFeeCoefficient": "1.00",
        "takerFeeCoefficient": "1.00",
        "st": False,
    }


def currency_json(code: str) -> dict[str, Any]:
    """Return the ``GET /api/v3/currencies`` entry of an asset (one chain, transfers off)."""
    return {
        "currency": code,
        "name": code,
        "fullName": code,
        "precision": 8,
        "confirms": None,
        "contractAddress": None,
        "isMarginEnabled": False,
        "isDebitEnabled": False,
        "chains": [
            {
                "chainName": "SIM",
                "chainId": "sim",
                "withdrawalMinSize": "0",
                "depositMinSize": None,
                "withdrawFeeRate": "0",
                "withdrawalMinFee": "0",
                "isWithdrawEnabled": False,
                "isDepositEnabled": False,
                "confirms": 1,
                "preConfirms": 1,
                "withdrawPrecision": 8,
                "maxWithdraw": None,
                "maxDeposit": None,
                "needTag": False,
                "contractAddress": "",
            }
        ],
    }


def ticker_fields(binance_ticker: dict[str, Any], fees: FeeSchedule) -> dict[str, Any]:
    """Return KuCoin's 24 h ticker fields from the core's 24 h statistics (Binance names)."""
    change_rate = Decimal(binance_ticker["priceChangePercent"]) / 100
    return {
        "buy": binance_ticker["bidPrice"],
        "bestBidSize": binance_ticker["bidQty"],
        "sell": binance_ticker["askPrice"],
        "bestAskSize": binance_ticker["askQty"],
        "changeRate": plain(change_rate.quantize(Decimal("0.00001"))),
        "changePrice": binance_ticker["priceChange"],
        "high": binance_ticker["highPrice"],
        "low": binance_ticker["lowPrice"],
        "vol": binance_ticker["volume"],
        "volValue": binance_ticker["quoteVolume"],
        "last": binance_ticker["lastPrice"],
        "averagePrice": binance_ticker["weightedAvgPrice"],
        "takerFeeRate": plain(fees.taker),
        "makerFeeRate": plain(fees.maker),
        "takerCoefficient": "1",
        "makerCoefficient": "1",
    }


def _fee_currency(order: Order, rules: MarketRules) -> str:
    if order.trades:
        return order.trades[0].commission_asset
    return rules.base if order.side == BUY else rules.quote


def order_json(order: Order, oid: str, rules: MarketRules, d: Decimals) -> dict[str, Any]:
    """Return the ``GET /api/v1/orders/{orderId}`` shape of ``order``."""
    by_funds = order.type == MARKET and order.orig_quote_qty > 0
    return {
        "id": oid,
        "symbol": kucoin_symbol(rules),
        "opType": "DEAL",
        "type": "market" if order.type == MARKET else "limit",
        "side": order.side.lower(),
        "price": fmt(order.price, d.price) if order.type != MARKET else "0",
        "size": "0" if by_funds else fmt(order.orig_qty, d.qty),
        "funds": fmt(order.orig_quote_qty) if by_funds else "0",
        "dealFunds": fmt(order.cumm_quote_qty),
        "dealSize": fmt(order.executed_qty, d.qty),
        "fee": fmt(sum((t.commission for t in order.trades), Decimal(0))),
        "feeCurrency": _fee_currency(order, rules),
        "stp": "",
        "timeInForce": order.time_in_force,
        "postOnly": order.type == LIMIT_MAKER,
        "hidden": False,
        "iceberg": False,
        "visibleSize": "0",
        "cancelAfter": 0,
        "channel": "API",
        "clientOid": order.client_order_id,
        "remark": None,
        "tags": None,
        "isActive": order.is_open,
        "cancelExist": order.status in (CANCELED, EXPIRED),
        "createdAt": order.time,
        "tradeType": "TRADE",
    }


def fill_json(
    trade: Trade, order: Order | None, oid: str, tid: str, rules: MarketRules, d: Decimals, fees: FeeSchedule
) -> dict[str, Any]:
    """Return the ``GET /api/v1/fills`` item of one trade of ``order``."""
    return {
        "symbol": kucoin_symbol(rules),
        "tradeId": tid,
        "orderId": oid,
        "counterOrderId": "",
        "side": "buy" if trade.is_buyer else "sell",
        "liquidity": "maker" if trade.is_maker else "taker",
        "forceTaker": False,
        "price": fmt(trade.price, d.price),
        "size": fmt(trade.qty, d.qty),
        "funds": fmt(trade.quote_qty),
        "fee": fmt(trade.commission),
        "feeRate": plain(fees.maker if trade.is_maker else fees.taker),
        "feeCurrency": trade.commission_asset,
        "tradeType": "TRADE",
        "type": "market" if order is not None and order.type == MARKET else "limit",
        "createdAt": trade.time,
    }


def uid(account: str) -> int:
    """Return the account's user id (nine digits, stable; the same as the Binance front's ``uid``)."""
    return int.from_bytes(hashlib.sha256(account.encode()).digest()[:4]) % 900_000_000 + 100_000_000


def _account_id(account: str, asset: str) -> str:
    return hashlib.blake2b(f"{account}:{asset}".encode(), digest_size=12).hexdigest()


def account_json(account: str, asset: str, free: Decimal, locked: Decimal) -> dict[str, Any]:
    """Return the ``GET /api/v1/accounts`` entry of one asset of the trading account."""
    return {
        "id": _account_id(account, asset),
        "currency": asset,
        "type": "trade",
        "balance": fmt(free + locked),
        "available": fmt(free),
        "holds": fmt(locked),
    }


def page(items: list[Any], current: int, size: int) -> dict[str, Any]:
    """Return KuCoin's paginated envelope of ``items`` (already in KuCoin's order)."""
    total = len(items)
    start = (current - 1) * size
    return {
        "currentPage": current,
        "pageSize": size,
        "totalNum": total,
        "totalPage": (total + size - 1) // size,
        "items": items[start : start + size],
    }
