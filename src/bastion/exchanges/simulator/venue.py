"""The whole simulated exchange: one matching engine per symbol over one shared ledger.

Pure like the engines: no I/O, wall-clock time from the injected clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from bastion.exchanges.simulator.accounts import Ledger
from bastion.exchanges.simulator.apierrors import duplicate_order, invalid_symbol
from bastion.exchanges.simulator.candles import CandleSeries
from bastion.exchanges.simulator.matching import Clock, FeeSchedule, SymbolEngine
from bastion.exchanges.simulator.orders import Order, Trade
from bastion.exchanges.simulator.rules import MarketRules

__all__ = ["Venue"]


class Venue:
    """Symbols, accounts and their orders.

    Parameters
    ----------
    markets
        ``(rules, candles, start_index)`` per symbol.
    accounts
        Starting free balances per account.
    clock
        Wall-clock epoch milliseconds.
    fees
        Maker and taker rates for every symbol.
    """

    def __init__(
        self,
        markets: Iterable[tuple[MarketRules, CandleSeries, int]],
        accounts: Mapping[str, Mapping[str, Decimal]],
        *,
        clock: Clock,
        fees: FeeSchedule | None = None,
    ) -> None:
        self.clock = clock
        self.ledger = Ledger()
        self.engines: dict[str, SymbolEngine] = {}
        for rules, candles, start in markets:
            if rules.symbol_id in self.engines:
                raise ValueError(f"market {rules.symbol} is listed twice; expected each symbol once")
            self.engines[rules.symbol_id] = SymbolEngine(
                rules, candles, self.ledger, clock=clock, fees=fees, start_index=start
            )
        assets = sorted({a for e in self.engines.values() for a in (e.rules.base, e.rules.quote)})
        for account, balances in accounts.items():
            self.ledger.open_account(account, balances, assets)

    def engine(self, symbol_id: str) -> SymbolEngine:
        """Return the engine of ``symbol_id`` (such as ``BTCUSDT``); -1121 if unknown."""
        engine = self.engines.get(symbol_id)
        if engine is None:
            raise invalid_symbol()
        return engine

    def place(self, account: str, symbol_id: str, **order: Any) -> Order:
        """Place an order (see :meth:`SymbolEngine.place`), refusing a client order id in use.

        Raises
        ------
        ApiError
            -1121 unknown symbol, -2010 "Duplicate order sent." when ``client_order_id`` belongs
            to an open order of the account, or any refusal of the engine.
        """
        engine = self.engine(symbol_id)
        cid = order.get("client_order_id")
        if cid is not None:
            for other in self.engines.values():
                if other.has_open_client_id(account, cid):
                    raise duplicate_order()
        return engine.place(account, **order)

    def open_orders(self, account: str, symbol_id: str | None = None) -> list[Order]:
        """Return the open orders of ``account``, in one symbol or all."""
        if symbol_id is not None:
            return self.engine(symbol_id).open_orders(account)
        return [o for e in self.engines.values() for o in e.open_orders(account)]

    def orders(self, account: str) -> list[Order]:
        """Return every order of ``account`` in every symbol."""
        return [o for e in self.engines.values() for o in e.orders(account)]

    def trades(self, account: str) -> list[Trade]:
        """Return every trade of ``account`` in every symbol."""
        return [t for e in self.engines.values() for t in e.trades(account)]

    def advance(self, candles: int = 1, symbol_id: str | None = None) -> dict[str, SymbolEngine]:
        """Advance one symbol or all by ``candles`` and return the engines that were advanced."""
        engines = {symbol_id: self.engine(symbol_id)} if symbol_id is not None else self.engines
        for engine in engines.values():
            engine.advance(candles)
        return dict(engines)
