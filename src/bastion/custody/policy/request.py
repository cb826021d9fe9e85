"""What the firewall judges: an order request and the signer's own reference market."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bastion.domain.market import Side
from bastion.domain.money import to_decimal
from bastion.domain.order import OrderType
from bastion.errors import ValidationError

__all__ = ["OrderRequest", "ReferenceMarket"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """An order the engine asks the signer to place. Not validated on construction.

    The fields come from the untrusted engine, so :meth:`PolicyEngine.evaluate` checks them
    and answers a malformed request with a ``bad_request`` denial instead of raising.

    Parameters
    ----------
    account
        The account the order is for; must be the account of the engine that evaluates it.
    symbol
        Spot symbol such as ``"BTC/USDT"``.
    side
        ``"buy"`` or ``"sell"``.
    type
        ``"limit"`` or ``"market"`` (an :class:`~bastion.domain.OrderType` or its value).
    amount
        Base amount. Required for limit orders; for market orders give either this or
        ``quote_amount``.
    price
        Limit price; must be None for market orders.
    quote_amount
        Quote amount to spend or receive, for market orders sized in the quote currency.
    client_order_id
        The id the signer sends to the exchange.
    reduces_exposure
        True when the order reduces the account's exposure. For spot, only a sell of base the
        account holds does; a buy never does. The **signer** must compute it from balances it
        fetched itself, never take it from the engine. It only matters in ``REDUCING``.
    """

    account: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal | None = None
    price: Decimal | None = None
    quote_amount: Decimal | None = None
    client_order_id: str
    reduces_exposure: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceMarket:
    """The signer's own view of a market, from public market data.

    Parameters
    ----------
    symbol
        Spot symbol such as ``"BTC/USDT"``.
    price
        Reference price: the last trade price or the mid of bid and ask.
    bid, ask
        Best bid and ask, when known; market orders are priced with them.
    quote_volume_24h
        Traded volume over 24 h in the quote currency; None when unknown (then denied).
    as_of_ms
        When the data was true, epoch milliseconds.
    """

    symbol: str
    price: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    quote_volume_24h: Decimal | None = None
    as_of_ms: int

    @classmethod
    def from_ccxt_ticker(cls, ticker: Mapping[str, Any], *, received_ms: int) -> ReferenceMarket:
        """Build a reference from a ccxt unified ticker (``fetch_ticker``).

        The price is ``last``, or the mid of ``bid`` and ``ask`` when there is no last price.
        ``as_of_ms`` is the older of the ticker's timestamp and ``received_ms``, so a ticker an
        exchange kept serving from cache shows its real age.

        Parameters
        ----------
        ticker
            One ccxt ticker; ccxt's floats are read through their repr, never as binary floats.
        received_ms
            The signer's clock when the ticker arrived, epoch milliseconds.

        Raises
        ------
        ValidationError
            The ticker has no symbol or no price.
        """
        symbol = ticker.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise ValidationError(f"ticker must have a symbol, got {symbol!r}")
        last = _ticker_decimal(ticker, "last", symbol)
        bid = _ticker_decimal(ticker, "bid", symbol)
        ask = _ticker_decimal(ticker, "ask", symbol)
        if last is not None:
            price = last
        elif bid is not None and ask is not None:
            price = (bid + ask) / 2
        else:
            raise ValidationError(f"{symbol}: ticker has neither a last price nor bid and ask: {ticker!r}")
        stamp = ticker.get("timestamp")
        as_of = received_ms
        if isinstance(stamp, int) and not isinstance(stamp, bool):
            as_of = min(stamp, received_ms)
        return cls(
            symbol=symbol,
            price=price,
            bid=bid,
            ask=ask,
            quote_volume_24h=_ticker_decimal(ticker, "quoteVolume", symbol),
            as_of_ms=as_of,
        )


def _ticker_decimal(ticker: Mapping[str, Any], key: str, symbol: str) -> Decimal | None:
    value = ticker.get(key)
    if value is None:
        return None
    return to_decimal(repr(value) if isinstance(value, float) else value, what=f"{symbol} ticker {key}")
