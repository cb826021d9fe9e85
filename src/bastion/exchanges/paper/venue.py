"""A paper account's exchange: the simulator's matching core fed with an exchange's live candles.

Pure and in memory (no I/O, the clock passed in). Each symbol has a
:class:`~bastion.exchanges.simulator.matching.SymbolEngine` over :class:`LiveCandles`, a list
of the exchange's completed candles that grows as new ones arrive: :meth:`PaperVenue.on_candles`
appends them and fills the resting orders each one's path reaches, by the simulator's rules
(open -> nearer extreme -> farther extreme -> close; a limit fills at its price, or at the open
when the candle opens through it; fees in the asset received). A market order walks the book of
the latest completed candle (mid at its close, a tick of spread each side), as in the simulator.

:meth:`PaperVenue.document` and :meth:`PaperVenue.from_document` keep balances, open orders,
recent closed orders and the last candle seen (decimals as strings), so a restart goes on where
the account was; candles that closed while nothing ran fill resting orders on the next feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from bastion.domain import Candle, Market
from bastion.exchanges.simulator.accounts import Ledger
from bastion.exchanges.simulator.matching import FeeSchedule, SymbolEngine
from bastion.exchanges.simulator.orders import Order, Trade
from bastion.exchanges.simulator.rules import MarketRules

__all__ = ["KEPT_CLOSED", "LiveCandles", "PaperVenue", "rules_of"]

#: Closed orders kept per symbol in the document (the engine asks about recent ones only).
KEPT_CLOSED = 200
_BIG = Decimal("1e15")
_ZERO = Decimal(0)
_DECIMALS = ("price", "orig_qty", "orig_quote_qty", "executed_qty", "cumm_quote_exact", "cumm_quote_qty", "locked")
_TRADE_DECIMALS = ("price", "qty", "quote_qty", "commission")


def rules_of(market: Market) -> MarketRules:
    """Return the simulator's rules for an exchange's market (missing limits: none)."""
    return MarketRules(
        symbol=market.symbol,
        base=market.base,
        quote=market.quote,
        tick_size=market.tick_size,
        step_size=market.lot_step,
        min_qty=market.min_amount or market.lot_step,
        max_qty=market.max_amount or _BIG,
        min_price=market.min_price or market.tick_size,
        max_price=market.max_price or _BIG,
        min_notional=market.min_notional or _ZERO,
        max_notional=market.max_notional or _BIG,
    )


class LiveCandles:
    """Completed candles of one market, oldest first; grows as the exchange closes new ones."""

    def __init__(self, timeframe_ms: int, candles: Sequence[Candle]) -> None:
        if not candles:
            raise ValueError("a paper market needs at least one completed candle")
        self._tf = timeframe_ms
        self._rows = list(candles)

    @property
    def timeframe_ms(self) -> int:
        """Candle length in milliseconds."""
        return self._tf

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> Candle:
        return self._rows[index]

    @property
    def last_ts(self) -> int:
        """Open time of the latest candle."""
        return self._rows[-1].ts_ms

    def extend(self, candles: Iterable[Candle]) -> int:
        """Append the candles newer than the latest; return how many."""
        added = 0
        for candle in sorted(candles, key=lambda c: c.ts_ms):
            if candle.ts_ms > self._rows[-1].ts_ms:
                self._rows.append(candle)
                added += 1
        return added


def _order_doc(order: Order) -> dict[str, Any]:
    doc = asdict(order)
    for name in _DECIMALS:
        doc[name] = str(doc[name])
    doc["trades"] = [{**t, **{n: str(t[n]) for n in _TRADE_DECIMALS}} for t in doc["trades"]]
    return doc


def _order_of(doc: Mapping[str, Any]) -> Order:
    fields = dict(doc)
    for name in _DECIMALS:
        fields[name] = Decimal(fields[name])
    fields["trades"] = [Trade(**{**t, **{n: Decimal(t[n]) for n in _TRADE_DECIMALS}}) for t in doc["trades"]]
    return Order(**fields)


class PaperVenue:
    """One paper account: balances, and a matching engine per market it trades.

    Parameters
    ----------
    account
        The account's name.
    balances
        Free balances to start with.
    clock
        Epoch milliseconds, for order and trade times.
    """

    def __init__(self, account: str, balances: Mapping[str, Decimal], *, clock: Callable[[], int]) -> None:
        self.account = account
        self.ledger = Ledger()
        self.ledger.open_account(account, dict(balances))
        self._clock = clock
        self.engines: dict[str, SymbolEngine] = {}
        self._saved: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ markets

    def has_market(self, symbol: str) -> bool:
        """Whether the market is set up (its candles were fed once)."""
        return symbol in self.engines

    def add_market(self, market: Market, timeframe_ms: int, candles: Sequence[Candle]) -> None:
        """Set up a market from its latest completed candles; saved orders rest again.

        A market saved in the document resumes at the candle it had last seen: the candles since
        then fill its resting orders now, in turn.
        """
        saved = self._saved.pop(market.symbol, None)
        ordered = sorted(candles, key=lambda c: c.ts_ms)
        last_seen = None if saved is None else int(saved["last_ts"])
        start = ordered if last_seen is None else [c for c in ordered if c.ts_ms <= last_seen][-1:] or ordered[:1]
        source = LiveCandles(timeframe_ms, start)
        engine = SymbolEngine(
            rules_of(market),
            source,
            self.ledger,
            clock=self._clock,
            fees=FeeSchedule(maker=market.maker_fee, taker=market.taker_fee),
            start_index=len(source) - 1,
        )
        if saved is not None:
            engine.restore(
                [_order_of(o) for o in saved["orders"]],
                next_order_id=int(saved["next_order_id"]),
                next_trade_id=int(saved["next_trade_id"]),
            )
        self.engines[market.symbol] = engine
        if last_seen is not None:
            self.on_candles(market.symbol, ordered)

    def on_candles(self, symbol: str, candles: Iterable[Candle]) -> int:
        """Append the market's newly completed candles and fill what their paths reach; return how many."""
        engine = self.engines[symbol]
        source = engine.candles
        assert isinstance(source, LiveCandles)
        added = source.extend(candles)
        if added:
            engine.advance(added)
        return added

    # ------------------------------------------------------------------ orders

    def place(
        self,
        symbol: str,
        *,
        side: str,
        order_type: str,
        amount: Decimal,
        price: Decimal | None,
        client_order_id: str,
    ) -> Order:
        """Place an order (``side`` "buy"/"sell", ``order_type`` "market"/"limit") on the market's engine.

        Raises
        ------
        ApiError
            The simulator's refusal: a filter failure or an insufficient balance.
        """
        market = order_type.lower() == "market"
        return self.engines[symbol].place(
            self.account,
            side=side.upper(),
            order_type="MARKET" if market else "LIMIT",
            quantity=amount,
            price=None if market else price,
            client_order_id=client_order_id,
        )

    def cancel(self, symbol: str, client_order_id: str) -> Order:
        """Cancel an open order; the simulator's -2011 when it is not open."""
        return self.engines[symbol].cancel(self.account, client_order_id=client_order_id)

    def find(self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None) -> Order | None:
        """The account's order in ``symbol`` by client id or order id, or None."""
        engine = self.engines.get(symbol)
        if engine is None:
            return None
        return engine.find(self.account, order_id=order_id, client_order_id=client_order_id)

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """``{asset: (free, locked)}``."""
        return self.ledger.balances(self.account)

    # ------------------------------------------------------------------ persistence

    def document(self) -> dict[str, Any]:
        """Balances, open and recent orders, ids and the last candle seen per market (JSON-ready)."""
        markets: dict[str, Any] = dict(self._saved)
        for symbol, engine in self.engines.items():
            orders = engine.orders(self.account)
            closed = [o for o in orders if not o.is_open][-KEPT_CLOSED:]
            kept = sorted([*closed, *(o for o in orders if o.is_open)], key=lambda o: o.order_id)
            next_order, next_trade = engine.next_ids
            source = engine.candles
            assert isinstance(source, LiveCandles)
            markets[symbol] = {
                "last_ts": source.last_ts,
                "next_order_id": next_order,
                "next_trade_id": next_trade,
                "orders": [_order_doc(o) for o in kept],
            }
        return {
            "balances": {a: [str(f), str(locked)] for a, (f, locked) in sorted(self.balances().items())},
            "markets": markets,
        }

    @classmethod
    def from_document(cls, account: str, document: Mapping[str, Any], *, clock: Callable[[], int]) -> PaperVenue:
        """Rebuild a venue from :meth:`document`; each market comes back at its next :meth:`add_market`."""
        balances = {a: (Decimal(f), Decimal(locked)) for a, (f, locked) in document.get("balances", {}).items()}
        venue = cls(account, {a: f + locked for a, (f, locked) in balances.items()}, clock=clock)
        for asset, (_, locked) in balances.items():
            if locked:
                venue.ledger.lock(account, asset, locked)
        venue._saved = {str(s): dict(m) for s, m in document.get("markets", {}).items()}
        return venue
