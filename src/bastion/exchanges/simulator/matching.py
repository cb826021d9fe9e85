"""The matching engine of one symbol: a pure state machine over replayed candles.

No I/O and no clock calls: wall-clock time comes from the injected ``clock`` (epoch ms), market
time from the candles. "Now" in the market is the close of the current candle; :meth:`advance`
makes the next candle current and fills resting limit orders whose price it reached.

Rules of the game
-----------------
- Inside a candle the price moves open -> nearer extreme -> farther extreme -> close (the low
  first when both are as near; :func:`candle_path`). A resting limit buy fills in full, as maker,
  where that path first reaches it: at the open when the candle opens at or below it, otherwise at
  its own price (a sell: at or above). Orders fill in the order the path reaches them; a backtest
  drives the same walk with :meth:`SymbolEngine.next_reached` and reacts between fills.
- A limit order that crosses the book on arrival takes liquidity up to its limit price as taker
  and rests the remainder (GTC), or expires it (IOC); FOK fills in full or expires.
- Market orders walk the book (:mod:`book`), possibly over several levels, one trade per level;
  when the book runs out the order ends EXPIRED with what it filled. ``quoteOrderQty`` spends
  (buy) or receives (sell) up to that much quote.
- A limit buy locks ``price * qty`` quote, a limit sell ``qty`` base; fills settle from the lock,
  cancel and expiry unlock the rest. Fees are taken from the asset received (base on buys, quote
  on sells), rounded to eight decimals.
- Quote amounts are rounded to eight decimals cumulatively per order, so an order's trades always
  add up to its ``cummulativeQuoteQty`` and the lock always covers what is left to pay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Protocol

from bastion.domain import Candle
from bastion.exchanges.simulator.accounts import Ledger
from bastion.exchanges.simulator.apierrors import (
    INVALID_ORDER_TYPE,
    INVALID_SIDE,
    MSG_UNKNOWN_ORDER,
    ApiError,
    filter_failure,
    mandatory,
    would_take,
)
from bastion.exchanges.simulator.book import Book, best_prices, build_book
from bastion.exchanges.simulator.candles import CandleSeries
from bastion.exchanges.simulator.format import q8
from bastion.exchanges.simulator.orders import (
    BUY,
    CANCELED,
    EXPIRED,
    FILLED,
    LIMIT,
    LIMIT_MAKER,
    MARKET,
    PARTIALLY_FILLED,
    SIDES,
    Order,
    Trade,
)
from bastion.exchanges.simulator.rules import MarketRules

__all__ = ["CandleSource", "Clock", "FeeSchedule", "SymbolEngine", "candle_path", "generated_client_id"]

#: Returns wall-clock epoch milliseconds.
Clock = Callable[[], int]

_ZERO = Decimal(0)


class CandleSource(Protocol):
    """What the engine reads of its candles (a :class:`CandleSeries`, or a backtest's lazy columns)."""

    @property
    def timeframe_ms(self) -> int:
        """Candle length in milliseconds."""
        ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Candle: ...


def candle_path(candle: Candle) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Return the price path inside ``candle``: open, nearer extreme, farther extreme, close.

    The low comes first when high and low are equally far from the open.
    """
    if candle.high - candle.open < candle.open - candle.low:
        return candle.open, candle.high, candle.low, candle.close
    return candle.open, candle.low, candle.high, candle.close


def generated_client_id(seed: str) -> str:
    """Return a 22-character client order id derived from ``seed`` (same seed, same id)."""
    return hashlib.blake2b(seed.encode(), digest_size=11).hexdigest()


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Maker and taker fee rates (0.001 = 0.1 %)."""

    maker: Decimal = Decimal("0.001")
    taker: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            rate = getattr(self, name)
            if not isinstance(rate, Decimal) or not (0 <= rate < 1):
                raise ValueError(f"{name} fee must be a Decimal in [0, 1) such as 0.001, got {rate!r}")


_Plan = list[tuple[list[Decimal], Decimal, Decimal]]


class SymbolEngine:
    """Orders, trades and the replay position of one symbol.

    Parameters
    ----------
    rules
        The market's rules (filters).
    candles
        The recorded candles to replay.
    ledger
        Balances, shared by every symbol's engine.
    clock
        Wall-clock epoch milliseconds for order and trade times.
    fees
        Maker and taker rates.
    start_index
        Index of the first current candle (clamped to the data).
    """

    def __init__(
        self,
        rules: MarketRules,
        candles: CandleSeries | CandleSource,
        ledger: Ledger,
        *,
        clock: Clock,
        fees: FeeSchedule | None = None,
        start_index: int = 0,
    ) -> None:
        self.rules = rules
        self.candles = candles
        self.ledger = ledger
        self.fees = fees or FeeSchedule()
        self._clock = clock
        self.index = max(0, min(start_index, len(candles) - 1))
        self._book: Book | None = None
        self._point: Candle | None = None
        #: Increases whenever the book changes (new candle or a taker consumed it).
        self.book_version = 0
        self._next_order_id = 1
        self._next_trade_id = 1
        self._orders: dict[int, Order] = {}
        self._open: dict[int, Order] = {}
        #: Highest resting buy and lowest resting sell price (None: recompute; changes with ``_open``).
        self._bounds: tuple[Decimal | None, Decimal | None] | None = None
        self._by_account: dict[str, list[Order]] = {}
        self._trades: dict[str, list[Trade]] = {}
        self._open_cids: dict[str, dict[str, Order]] = {}
        self._latest_cid: dict[tuple[str, str], Order] = {}

    # --- market state ---------------------------------------------------------------------

    @property
    def symbol_id(self) -> str:
        """Return the Binance symbol id, such as ``BTCUSDT``."""
        return self.rules.symbol_id

    @property
    def candle(self) -> Candle:
        """Return the current candle (or the point inside it set by :meth:`move_to`)."""
        return self._point if self._point is not None else self.candles[self.index]

    @property
    def market_time(self) -> int:
        """Return "now" in the market: the close (end) of the current candle, epoch ms."""
        return self.candle.ts_ms + self.candles.timeframe_ms

    @property
    def at_end(self) -> bool:
        """Return True when the current candle is the last recorded one."""
        return self.index >= len(self.candles) - 1

    def book(self) -> Book:
        """Return the current book (built from the current candle, minus what takers consumed)."""
        if self._book is None:
            self._book = build_book(self.candle, self.rules)
        return self._book

    def _best_quote(self, side: str) -> Decimal | None:
        """The book's best ask or bid, without building the book when no taker has touched it."""
        if self._book is None and self.rules.min_qty > 0:
            # A fresh book's first levels (see build_book): sized at least min_qty, a bid only above zero.
            bid, ask = best_prices(self.candle.close, self.rules)
            if side == "ask":
                return ask
            return bid if bid > 0 else None
        book = self.book()
        return book.best_ask if side == "ask" else book.best_bid

    def advance(self, candles: int = 1) -> int:
        """Make the next ``candles`` candles current in turn, filling resting orders they reach.

        Returns
        -------
        int
            How many candles the replay moved (less than asked at the end of the data).
        """
        moved = 0
        last = len(self.candles) - 1
        while moved < candles and self.index < last:
            self.index += 1
            moved += 1
            self._book = None
            self._point = None
            self.book_version += 1
            if self._open:
                self._fill_resting(self.candles[self.index])
        return moved

    def _fill_resting(self, candle: Candle) -> None:
        path = candle_path(candle)
        self.fill_reached(path[0], path[0])
        for start, end in pairwise(path):
            self.fill_reached(start, end)

    def move_to(self, index: int, point: Candle | None = None) -> None:
        """Make candle ``index`` current without filling anything (a backtest walks the path itself).

        ``point`` replaces the candle the book is built from, for orders placed at a point inside
        a candle (a backtest reacting to a fill): the book's mid is then that point's close.
        """
        self.index = max(0, min(index, len(self.candles) - 1))
        self._point = point
        self._book = None
        self.book_version += 1

    def next_reached(self, start: Decimal, end: Decimal) -> tuple[Order, Decimal] | None:
        """Return the first resting order a price move ``start`` -> ``end`` reaches, and where.

        A buy at or above ``start`` (a sell at or below) is reached at once, at ``start``; otherwise
        a falling move reaches a buy at its price when it gets that low (a rising move a sell).
        Nearest along the move first, the older order first at the same place.
        """
        highest_buy, lowest_sell = self.resting_bounds()
        buys_from = end if end < start else start  # a buy at or above this is reached
        sells_to = end if end > start else start  # a sell at or below this is reached
        if (highest_buy is None or highest_buy < buys_from) and (lowest_sell is None or lowest_sell > sells_to):
            return None
        best: tuple[Decimal, int] | None = None
        found: Order | None = None
        for order in self._open.values():
            price = order.price
            if order.side == BUY:
                if price >= start:
                    distance = _ZERO
                elif end < start and price >= end:
                    distance = start - price
                else:
                    continue
            elif price <= start:
                distance = _ZERO
            elif end > start and price <= end:
                distance = price - start
            else:
                continue
            key = (distance, order.order_id)
            if best is None or key < best:
                best, found = key, order
        if found is None or best is None:
            return None
        return found, (start if best[0] == 0 else found.price)

    def fill_at(self, order: Order, price: Decimal) -> None:
        """Fill the resting ``order`` in full as maker at ``price`` (a point :meth:`next_reached` named)."""
        self._fill(order, price, order.remaining, maker=True, from_lock=True)
        self._close(order, FILLED)

    def fill_reached(self, start: Decimal, end: Decimal) -> None:
        """Fill every resting order the move ``start`` -> ``end`` reaches, in the order it reaches them."""
        while (hit := self.next_reached(start, end)) is not None:
            order, start = hit
            self.fill_at(order, start)

    def restore(self, orders: Iterable[Order], *, next_order_id: int, next_trade_id: int) -> None:
        """Take back orders (with their trades) kept from an earlier engine: a paper account across restarts.

        The ledger must already hold the open orders' locks; open orders rest again.
        """
        for order in sorted(orders, key=lambda o: o.order_id):
            self._orders[order.order_id] = order
            self._by_account.setdefault(order.account, []).append(order)
            self._trades.setdefault(order.account, []).extend(order.trades)
            self._latest_cid[(order.account, order.client_order_id)] = order
            if order.is_open:
                self._open[order.order_id] = order
                self._open_cids.setdefault(order.account, {})[order.client_order_id] = order
        self._next_order_id = max(self._next_order_id, next_order_id)
        self._next_trade_id = max(self._next_trade_id, next_trade_id)

    @property
    def next_ids(self) -> tuple[int, int]:
        """Return the next order id and the next trade id (kept with restored orders)."""
        return self._next_order_id, self._next_trade_id

    # --- queries --------------------------------------------------------------------------

    def resting_bounds(self) -> tuple[Decimal | None, Decimal | None]:
        """Return the highest resting buy price and the lowest resting sell price (None: no such order)."""
        bounds = self._bounds
        if bounds is None:
            buy: Decimal | None = None
            sell: Decimal | None = None
            for order in self._open.values():
                price = order.price
                if order.side == BUY:
                    if buy is None or price > buy:
                        buy = price
                elif sell is None or price < sell:
                    sell = price
            bounds = self._bounds = (buy, sell)
        return bounds

    def has_open_client_id(self, account: str, client_order_id: str) -> bool:
        """Return True if ``account`` has an open order with ``client_order_id`` here."""
        ids = self._open_cids.get(account)
        return ids is not None and client_order_id in ids

    def find(self, account: str, *, order_id: int | None = None, client_order_id: str | None = None) -> Order | None:
        """Return the account's order by id and/or client order id (both must match when both given)."""
        if order_id is not None:
            order = self._orders.get(order_id)
            if order is None or order.account != account:
                return None
            if client_order_id is not None and order.client_order_id != client_order_id:
                return None
            return order
        if client_order_id is not None:
            ids = self._open_cids.get(account)
            if ids is not None and client_order_id in ids:
                return ids[client_order_id]
            return self._latest_cid.get((account, client_order_id))
        return None

    def orders(self, account: str) -> list[Order]:
        """Return every order of ``account`` in this symbol, oldest first."""
        return list(self._by_account.get(account, ()))

    def open_orders(self, account: str) -> list[Order]:
        """Return the open orders of ``account`` in this symbol, oldest first."""
        ids = self._open_cids.get(account)
        if not ids:
            return []
        return sorted(ids.values(), key=lambda o: o.order_id)

    def trades(self, account: str) -> list[Trade]:
        """Return the trades of ``account`` in this symbol, oldest first."""
        return list(self._trades.get(account, ()))

    # --- commands -------------------------------------------------------------------------

    def place(
        self,
        account: str,
        *,
        side: str,
        order_type: str,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        quote_order_qty: Decimal | None = None,
        time_in_force: str | None = None,
        client_order_id: str | None = None,
        fill_fraction: Decimal | None = None,
        key_hint: str = "",
    ) -> Order:
        """Accept (or refuse) a new order and match what it can match now.

        Parameters
        ----------
        account
            The account placing the order.
        side
            ``"BUY"`` or ``"SELL"``.
        order_type
            ``"LIMIT"``, ``"LIMIT_MAKER"`` or ``"MARKET"``.
        quantity
            Base quantity (limit orders; market orders unless ``quote_order_qty``).
        price
            Limit price.
        quote_order_qty
            Market orders only: quote amount to spend (buy) or receive (sell).
        time_in_force
            ``GTC`` (default), ``IOC`` or ``FOK`` for LIMIT orders.
        client_order_id
            The client's id; one is generated when None.
        fill_fraction
            Fault injection: fill at most this fraction of the quantity now (a limit order rests
            the rest, a market order expires it).
        key_hint
            Last characters of the API key that placed the order, for the admin view.

        Raises
        ------
        ApiError
            Binance's refusal: -1013 filter failure, -2010 insufficient balance or would take.
        """
        if side not in SIDES:
            raise ApiError(INVALID_SIDE, "Invalid side.")
        if order_type == MARKET:
            return self._place_market(
                account, side, quantity, quote_order_qty, client_order_id, fill_fraction, key_hint
            )
        if order_type not in (LIMIT, LIMIT_MAKER):
            raise ApiError(INVALID_ORDER_TYPE, "Invalid orderType.")
        if price is None:
            raise mandatory("price")
        if quantity is None:
            raise mandatory("quantity")
        tif = "GTC" if order_type == LIMIT_MAKER else (time_in_force or "GTC")
        return self._place_limit(
            account, side, order_type, tif, price, quantity, client_order_id, fill_fraction, key_hint
        )

    def cancel(self, account: str, *, order_id: int | None = None, client_order_id: str | None = None) -> Order:
        """Cancel an open order; -2011 "Unknown order sent." if there is no such open order."""
        order = self.find(account, order_id=order_id, client_order_id=client_order_id)
        if order is None or not order.is_open:
            raise ApiError(-2011, MSG_UNKNOWN_ORDER)
        self._close(order, CANCELED)
        return order

    def cancel_all(self, account: str) -> list[Order]:
        """Cancel every open order of ``account`` in this symbol and return them."""
        orders = self.open_orders(account)
        for order in orders:
            self._close(order, CANCELED)
        return orders

    # --- placing --------------------------------------------------------------------------

    def _place_limit(
        self,
        account: str,
        side: str,
        order_type: str,
        tif: str,
        price: Decimal,
        qty: Decimal,
        client_order_id: str | None,
        fill_fraction: Decimal | None,
        key_hint: str,
    ) -> Order:
        rules = self.rules
        rules.check_price(price)
        rules.check_qty(qty)
        rules.check_notional(price * qty)
        if side == BUY:
            best = self._best_quote("ask")
            crosses = best is not None and price >= best
            lock_asset, lock_amount = rules.quote, q8(price * qty)
        else:
            best = self._best_quote("bid")
            crosses = best is not None and price <= best
            lock_asset, lock_amount = rules.base, qty
        if order_type == LIMIT_MAKER and crosses:
            raise would_take()
        self.ledger.lock(account, lock_asset, lock_amount)
        order = self._new_order(account, side, order_type, tif, price, qty, _ZERO, client_order_id, key_hint)
        order.locked = lock_amount
        cap = qty if fill_fraction is None else min(qty, rules.floor_qty(qty * fill_fraction))
        if crosses:
            plan = self._plan(side, limit=price, max_qty=cap)
            if tif == "FOK" and sum(q for _, _, q in plan) < qty:
                plan = []
            self._execute(order, plan, from_lock=True)
        elif fill_fraction is not None and cap > 0 and tif != "FOK":
            self._fill(order, price, cap, maker=True, from_lock=True)
        if order.executed_qty == qty:
            self._close(order, FILLED)
        elif tif in ("IOC", "FOK"):
            self._close(order, EXPIRED)
        elif order.executed_qty > 0:
            order.status = PARTIALLY_FILLED
        return order

    def _place_market(
        self,
        account: str,
        side: str,
        quantity: Decimal | None,
        quote_order_qty: Decimal | None,
        client_order_id: str | None,
        fill_fraction: Decimal | None,
        key_hint: str,
    ) -> Order:
        rules = self.rules
        budget: Decimal | None = None
        max_qty: Decimal | None = None
        if quote_order_qty is not None:
            if quote_order_qty <= 0:
                raise filter_failure("NOTIONAL")
            rules.check_notional(quote_order_qty)
            budget = quote_order_qty if fill_fraction is None else quote_order_qty * fill_fraction
        elif quantity is not None:
            rules.check_qty(quantity)
            rules.check_notional(quantity * self.candle.close)
            max_qty = quantity if fill_fraction is None else rules.floor_qty(quantity * fill_fraction)
        else:
            raise ApiError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
        plan = self._plan(side, limit=None, max_qty=max_qty, budget=budget)
        filled = sum((q for _, _, q in plan), _ZERO)
        cost = q8(sum((p * q for _, p, q in plan), _ZERO))
        if side == BUY:
            if quote_order_qty is not None:
                self.ledger.require_free(account, rules.quote, quote_order_qty)
            self.ledger.require_free(account, rules.quote, cost)
        else:
            self.ledger.require_free(account, rules.base, quantity if quantity is not None else filled)
        orig_qty = quantity if quantity is not None else filled
        order = self._new_order(
            account, side, MARKET, "GTC", _ZERO, orig_qty, quote_order_qty or _ZERO, client_order_id, key_hint
        )
        self._execute(order, plan, from_lock=False)
        if quantity is not None:
            complete = order.executed_qty == quantity
        else:
            # A quote-sized order is complete when its budget, not the book, stopped it.
            book = self.book()
            liquidity_left = (book.best_ask if side == BUY else book.best_bid) is not None
            complete = fill_fraction is None and order.executed_qty > 0 and liquidity_left
        self._close(order, FILLED if complete else EXPIRED)
        return order

    def _plan(
        self, side: str, *, limit: Decimal | None, max_qty: Decimal | None = None, budget: Decimal | None = None
    ) -> _Plan:
        """Return the (level, price, qty) a taker would fill, without changing the book."""
        plan: _Plan = []
        floor_qty = self.rules.floor_qty
        for level in self.book().levels(side):
            price, available = level
            if available <= 0:
                continue
            if limit is not None and (price > limit if side == BUY else price < limit):
                break
            qty = available
            if max_qty is not None and max_qty < qty:
                qty = max_qty
            if budget is not None:
                affordable = floor_qty(budget / price)
                if affordable < qty:
                    qty = affordable
            if qty <= 0:
                break
            plan.append((level, price, qty))
            if max_qty is not None:
                max_qty -= qty
                if max_qty <= 0:
                    break
            if budget is not None:
                budget -= price * qty
        return plan

    def _execute(self, order: Order, plan: _Plan, *, from_lock: bool) -> None:
        if not plan:
            return
        for level, price, qty in plan:
            level[1] -= qty
            self._fill(order, price, qty, maker=False, from_lock=from_lock)
        self.book_version += 1

    # --- bookkeeping ----------------------------------------------------------------------

    def _new_order(
        self,
        account: str,
        side: str,
        order_type: str,
        tif: str,
        price: Decimal,
        qty: Decimal,
        quote_qty: Decimal,
        client_order_id: str | None,
        key_hint: str,
    ) -> Order:
        order_id = self._next_order_id
        self._next_order_id += 1
        now = self._clock()
        if client_order_id is None:
            client_order_id = generated_client_id(f"{self.rules.symbol_id}:{order_id}")
        cid = client_order_id
        order = Order(
            symbol=self.rules.symbol_id,
            order_id=order_id,
            client_order_id=cid,
            account=account,
            side=side,
            type=order_type,
            time_in_force=tif,
            price=price,
            orig_qty=qty,
            orig_quote_qty=quote_qty,
            time=now,
            update_time=now,
            key_hint=key_hint,
        )
        self._orders[order_id] = order
        self._open[order_id] = order
        self._bounds = None
        self._by_account.setdefault(account, []).append(order)
        self._open_cids.setdefault(account, {})[cid] = order
        self._latest_cid[(account, cid)] = order
        return order

    def _fill(self, order: Order, price: Decimal, qty: Decimal, *, maker: bool, from_lock: bool) -> None:
        rules = self.rules
        ledger = self.ledger
        account = order.account
        previous = order.cumm_quote_qty
        order.cumm_quote_exact += price * qty
        cumulative = q8(order.cumm_quote_exact)
        quote_qty = cumulative - previous
        rate = self.fees.maker if maker else self.fees.taker
        # A buy pays quote and receives base, a sell the reverse; the fee is in what is received.
        if order.side == BUY:
            pay_asset, paid, fee_asset, received = rules.quote, quote_qty, rules.base, qty
        else:
            pay_asset, paid, fee_asset, received = rules.base, qty, rules.quote, quote_qty
        fee = q8(received * rate)
        if from_lock:
            ledger.spend_locked(account, pay_asset, paid)
            order.locked -= paid
        else:
            ledger.spend_free(account, pay_asset, paid)
        ledger.credit(account, fee_asset, received, fee=fee)
        now = self._clock()
        order.executed_qty += qty
        order.cumm_quote_qty = cumulative
        order.update_time = now
        if order.status == "NEW":
            order.status = PARTIALLY_FILLED
        trade = Trade(
            symbol=rules.symbol_id,
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            account=account,
            price=price,
            qty=qty,
            quote_qty=quote_qty,
            commission=fee,
            commission_asset=fee_asset,
            time=now,
            is_buyer=order.side == BUY,
            is_maker=maker,
        )
        self._next_trade_id += 1
        order.trades.append(trade)
        self._trades.setdefault(account, []).append(trade)
        if from_lock and order.side == BUY:
            # Keep locked only what the rest can cost at the limit price; release the savings.
            remaining = order.orig_qty - order.executed_qty
            needed = q8(order.cumm_quote_exact + order.price * remaining) - cumulative
            if order.locked > needed:
                ledger.unlock(account, rules.quote, order.locked - needed)
                order.locked = needed

    def _close(self, order: Order, status: str) -> None:
        order.status = status
        order.update_time = self._clock()
        self._open.pop(order.order_id, None)
        self._bounds = None
        ids = self._open_cids.get(order.account)
        if ids is not None and ids.get(order.client_order_id) is order:
            del ids[order.client_order_id]
        if order.locked > 0:
            asset = self.rules.quote if order.side == BUY else self.rules.base
            self.ledger.unlock(order.account, asset, order.locked)
            order.locked = _ZERO
