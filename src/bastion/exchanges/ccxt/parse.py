"""Turn ccxt's unified dicts into the port's Decimal records.

ccxt reports numbers as float; a float parsed from the exchange's decimal string has a
shortest ``repr`` equal to that string, so ``Decimal(repr(x))`` recovers the exchange's value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bastion.domain import Candle, OrderStatus, OrderType
from bastion.errors import ExchangeError
from bastion.exchanges.port import ApiRestrictions, Balance, OrderBook, OrderSnapshot, Ticker, Trade

__all__ = [
    "dec",
    "parse_api_restrictions",
    "parse_balance",
    "parse_candle",
    "parse_order",
    "parse_order_book",
    "parse_ticker",
    "parse_trade",
]


def dec(value: Any) -> Decimal | None:
    """Return a ccxt number (float, int, str or None) as Decimal, or None."""
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _dec0(value: Any) -> Decimal:
    result = dec(value)
    return Decimal(0) if result is None else result


def parse_candle(row: list[Any]) -> Candle:
    """Parse one ccxt OHLCV row ``[ts, o, h, l, c, v]``."""
    ts, o, h, low, c, v = row[:6]
    return Candle(int(ts), _dec0(o), _dec0(h), _dec0(low), _dec0(c), _dec0(v))


def parse_ticker(t: dict[str, Any]) -> Ticker:
    """Parse a ccxt ticker."""
    return Ticker(
        symbol=t["symbol"],
        bid=dec(t.get("bid")),
        ask=dec(t.get("ask")),
        last=dec(t.get("last")),
        base_volume=dec(t.get("baseVolume")),
        quote_volume=dec(t.get("quoteVolume")),
        timestamp_ms=t.get("timestamp"),
        open_24h=dec(t.get("open")),
    )


def parse_order_book(symbol: str, book: dict[str, Any]) -> OrderBook:
    """Parse a ccxt order book."""
    return OrderBook(
        symbol=symbol,
        bids=tuple((_dec0(p), _dec0(a)) for p, a, *_ in book.get("bids", [])),
        asks=tuple((_dec0(p), _dec0(a)) for p, a, *_ in book.get("asks", [])),
        timestamp_ms=book.get("timestamp"),
    )


def parse_balance(balance: dict[str, Any]) -> dict[str, Balance]:
    """Parse a ccxt balance into {currency: Balance}, leaving out all-zero currencies."""
    result: dict[str, Balance] = {}
    free = balance.get("free") or {}
    used = balance.get("used") or {}
    for currency in sorted(set(free) | set(used)):
        b = Balance(currency, _dec0(free.get(currency)), _dec0(used.get(currency)))
        if b.total != 0:
            result[currency] = b
    return result


def parse_trade(
    t: dict[str, Any],
    *,
    order_id: str | None = None,
    timestamp_ms: int | None = None,
    symbol: str | None = None,
    side: str | None = None,
) -> Trade:
    """Parse a ccxt trade (from fetch_my_trades or an order's fills, which may lack symbol and side)."""
    fee = t.get("fee") or {}
    price = _dec0(t.get("price"))
    amount = _dec0(t.get("amount"))
    ts = t.get("timestamp") or timestamp_ms
    oid = t.get("order") or order_id
    if t.get("id") is None or oid is None or ts is None:
        raise ExchangeError(f"trade without id, order id or time from the exchange: {t.get('info')!r}")
    market = t.get("symbol") or symbol
    trade_side = t.get("side") or side
    if not market or trade_side not in ("buy", "sell"):
        raise ExchangeError(f"trade without symbol or side from the exchange: {t.get('info')!r}")
    return Trade(
        trade_id=str(t["id"]),
        order_id=str(oid),
        symbol=market,
        side="buy" if trade_side == "buy" else "sell",
        price=price,
        amount=amount,
        fee=_dec0(fee.get("cost")),
        fee_currency=fee.get("currency") or "",
        is_maker=t.get("takerOrMaker") == "maker",
        timestamp_ms=int(ts),
        cost=dec(t.get("cost")),
    )


_STATUS = {
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
    "closed": OrderStatus.FILLED,
}


def parse_order(o: dict[str, Any]) -> OrderSnapshot:
    """Parse a ccxt order."""
    amount = _dec0(o.get("amount"))
    filled = _dec0(o.get("filled"))
    status = _STATUS.get(o.get("status") or "")
    if status is None:  # "open" or unknown
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    cost = dec(o.get("cost"))
    if cost is None:
        average = dec(o.get("average"))
        cost = filled * average if average is not None else Decimal(0)
    trades = tuple(
        parse_trade(t, order_id=str(o["id"]), timestamp_ms=o.get("timestamp"), symbol=o["symbol"], side=o["side"])
        for t in (o.get("trades") or [])
        if t.get("id") is not None
    )
    return OrderSnapshot(
        exchange_order_id=str(o["id"]),
        client_order_id=o.get("clientOrderId"),
        symbol=o["symbol"],
        side=o["side"],
        type=OrderType(o.get("type") or "limit"),
        status=status,
        amount=amount,
        price=dec(o.get("price")) or None,
        filled=filled,
        cost=cost,
        timestamp_ms=o.get("timestamp"),
        trades=trades,
    )


def parse_api_restrictions(raw: dict[str, Any]) -> ApiRestrictions:
    """Parse Binance's ``/sapi/v1/account/apiRestrictions`` answer."""

    def flag(name: str) -> bool:
        value = raw.get(name, False)
        return value is True or str(value).lower() == "true"

    return ApiRestrictions(
        can_read=flag("enableReading"),
        can_trade_spot=flag("enableSpotAndMarginTrading"),
        can_withdraw=flag("enableWithdrawals"),
        can_internal_transfer=flag("enableInternalTransfer"),
        can_universal_transfer=flag("permitsUniversalTransfer"),
        ip_restricted=flag("ipRestrict"),
        raw=dict(raw),
    )
