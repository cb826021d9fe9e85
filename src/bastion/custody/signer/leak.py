"""The leak detector: did anything happen on the account that Bastion did not do?

Every order the signer places is recorded in the audit log before it goes out (its client
order id, symbol and side) and after (the exchange's order id). :class:`SentOrders` is that
record in memory, rebuilt from the log when the signer starts. An order's identity is
``(account, symbol, exchange order id)`` (:class:`OrderId`): exchanges number orders per symbol,
so ETH/USDT order 1 is not BTC/USDT order 1. An order is *ours* when its client order id is one
we sent for the same symbol and side and, once we know the exchange id we got back, that id
matches too. Anything else is *foreign*: the key is being used somewhere else.

:class:`LeakScan` reconciles one account with the exchange:

- It pages through **every** trade since its last :class:`Checkpoint` (by trade id, 1000 a
  page), in every symbol whose base *or* quote the account holds or held since then, plus the
  allowlisted pairs. Without a checkpoint it starts at the account's first audited entry.
- It reads the balances before and after paging and pages again until they agree, so the
  trades it read are exactly those behind the balances it compares (after three tries it judges
  the orders only and keeps its checkpoint, so the next scan reconciles).
- Every balance change since the checkpoint must be explained by fills of orders we sent (and
  their fees). A foreign fill is a :class:`ForeignOrder`; whatever no fill explains (a
  deposit, a withdrawal, trading in a market the scan did not read) is a :class:`BalanceFinding`.

The checkpoint (balances and last trade id per symbol) is written to the audit log after each
scan that saw something new, and replayed from it at start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, Protocol

from bastion.errors import ExchangeError
from bastion.exchanges.port import Balance, OrderSnapshot, Trade
from bastion.exchanges.venues import TradePaging

__all__ = [
    "PAGE",
    "BalanceFinding",
    "Checkpoint",
    "ForeignOrder",
    "LeakScan",
    "OrderId",
    "ScanReport",
    "SentOrders",
]

#: Trades asked for per page (Binance's maximum for myTrades).
PAGE = 1000
#: How often the scan re-reads when the balances changed while it paged.
_ATTEMPTS = 3
_ZERO = Decimal(0)


class OrderId(NamedTuple):
    """An order's identity: exchanges number orders per symbol."""

    account: str
    symbol: str
    exchange_order_id: str

    def to_json(self) -> dict[str, str]:
        """Return the identity as a JSON-ready dict."""
        return {"account": self.account, "symbol": self.symbol, "exchange_order_id": self.exchange_order_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignOrder:
    """An order on the exchange that the signer did not send."""

    account: str
    exchange_order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    status: str
    amount: str
    price: str | None
    filled: str
    timestamp_ms: int | None
    why: str

    @property
    def key(self) -> OrderId:
        """Return the order's identity."""
        return OrderId(self.account, self.symbol, self.exchange_order_id)

    def to_json(self) -> dict[str, Any]:
        """Return the order as a JSON-ready dict."""
        return {
            "account": self.account,
            "exchange_order_id": self.exchange_order_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "status": self.status,
            "amount": self.amount,
            "price": self.price,
            "filled": self.filled,
            "timestamp_ms": self.timestamp_ms,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceFinding:
    """A balance change since the last checkpoint that no fill of ours (or seen foreign fill) explains.

    Parameters
    ----------
    asset
        The currency.
    before, after
        Total balance at the checkpoint and now.
    explained
        The change our own fills (and their fees) account for.
    foreign
        The change the foreign fills the scan found account for.
    unexplained
        ``after - before - explained - foreign``: a deposit, a withdrawal or unseen trading.
    since_ms
        When the checkpoint was taken.
    """

    asset: str
    before: Decimal
    after: Decimal
    explained: Decimal
    foreign: Decimal
    unexplained: Decimal
    since_ms: int

    @property
    def key(self) -> tuple[str, int]:
        """Return what identifies the finding: the asset and the checkpoint it is measured from."""
        return self.asset, self.since_ms

    def to_json(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dict (decimals as strings)."""
        return {
            "asset": self.asset,
            "before": _plain(self.before),
            "after": _plain(self.after),
            "explained": _plain(self.explained),
            "foreign": _plain(self.foreign),
            "unexplained": _plain(self.unexplained),
            "since_ms": self.since_ms,
            "why": (
                f"{self.asset} changed by {_plain(self.after - self.before)} since the last scan, but fills of "
                f"orders Bastion sent explain {_plain(self.explained)}: {_plain(self.unexplained)} is unexplained "
                "(a deposit, a withdrawal, or trading with the key elsewhere)"
            ),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """Where the last scan stopped: total balances and the last trade id read per symbol."""

    at_ms: int
    balances: Mapping[str, Decimal]
    last_trade_ids: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        """Return the checkpoint as the payload fields of a ``leak_checkpoint`` audit entry."""
        return {
            "at_ms": self.at_ms,
            "balances": {asset: _plain(total) for asset, total in sorted(self.balances.items())},
            "last_trade_ids": dict(sorted(self.last_trade_ids.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint | None:
        """Return the checkpoint of a ``leak_checkpoint`` payload, or None if it is malformed."""
        at_ms, balances, ids = data.get("at_ms"), data.get("balances"), data.get("last_trade_ids")
        if not isinstance(at_ms, int) or not isinstance(balances, dict) or not isinstance(ids, dict):
            return None
        try:
            totals = {str(a): Decimal(str(v)) for a, v in balances.items()}
        except InvalidOperation:
            return None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ids.values()):
            return None
        return cls(at_ms=at_ms, balances=totals, last_trade_ids={str(s): v for s, v in ids.items()})


def _plain(value: Any) -> str:
    return format(value, "f")


class SentOrders:
    """The orders one account's signer sent, by client order id and by :class:`OrderId`.

    Also holds what the leak scan needs from the audit log: the last checkpoint and when the
    account's first audited entry was written.
    """

    def __init__(self, account: str = "") -> None:
        self.account = account
        self._by_client: dict[str, tuple[str, str]] = {}
        self._exchange_of: dict[str, str] = {}
        self._ours: set[OrderId] = set()
        self._acknowledged: set[OrderId] = set()
        # Acknowledgements written before orders were told apart by symbol: order id -> when.
        self._acknowledged_legacy: dict[str, int] = {}
        #: The last scan's checkpoint (None: never scanned).
        self.checkpoint: Checkpoint | None = None
        #: Time of the account's first audited entry (None: none replayed).
        self.first_ms: int | None = None

    def __len__(self) -> int:
        return len(self._by_client)

    def sent(self, client_order_id: str, symbol: str, side: str) -> None:
        """Record an order about to be sent."""
        self._by_client[client_order_id] = (symbol, side)

    def used_for(self, client_order_id: str) -> tuple[str, str] | None:
        """The (symbol, side) this client order id was sent for, or None if it never was."""
        return self._by_client.get(client_order_id)

    def answered(self, client_order_id: str, exchange_order_id: str) -> None:
        """Record the exchange's id for an order we sent."""
        mine = self._by_client.get(client_order_id)
        if mine is not None:
            self._exchange_of[client_order_id] = exchange_order_id
            self._ours.add(OrderId(self.account, mine[0], exchange_order_id))

    def acknowledge(self, orders: Iterable[OrderId | Iterable[str] | str], at_ms: int = 0) -> None:
        """Stop reporting these foreign orders (the user has seen them and re-opened the account).

        Each is an :class:`OrderId` (or its ``[account, symbol, id]`` list from the audit log); a
        bare order id, as acknowledgements were written before symbols were told apart, covers
        that id in every symbol for orders placed until ``at_ms``.
        """
        for item in orders:
            if isinstance(item, str):
                self._acknowledged_legacy[item] = max(at_ms, self._acknowledged_legacy.get(item, 0))
                continue
            parts = tuple(item)
            if len(parts) == 3 and all(isinstance(p, str) for p in parts):
                self._acknowledged.add(OrderId(*parts))

    def is_ours(self, symbol: str, exchange_order_id: str) -> bool:
        """Whether ``exchange_order_id`` in ``symbol`` is one we got back for an order we sent."""
        return OrderId(self.account, symbol, exchange_order_id) in self._ours

    def is_acknowledged(self, order: OrderSnapshot) -> bool:
        """Whether the user already acknowledged this order as foreign."""
        if OrderId(self.account, order.symbol, order.exchange_order_id) in self._acknowledged:
            return True
        acked_at = self._acknowledged_legacy.get(order.exchange_order_id)
        return acked_at is not None and order.timestamp_ms is not None and order.timestamp_ms <= acked_at

    def judge(self, order: OrderSnapshot) -> ForeignOrder | None:
        """Return the order as a :class:`ForeignOrder` if the signer did not send it, else None."""
        if self.is_ours(order.symbol, order.exchange_order_id) or self.is_acknowledged(order):
            return None
        cid = order.client_order_id
        why = None
        mine = self._by_client.get(cid) if cid else None
        if mine is None:
            why = "client order id was never sent by this signer"
        elif mine != (order.symbol, order.side):
            why = f"client order id was sent for {mine[1]} {mine[0]}, not {order.side} {order.symbol}"
        else:
            known = self._exchange_of.get(cid)  # type: ignore[arg-type]
            if known is not None and known != order.exchange_order_id:
                why = f"client order id was answered with exchange order {known}, not {order.exchange_order_id}"
            elif known is None:
                # Sent but the answer was lost (timeout): it is ours; learn the id.
                self.answered(cid, order.exchange_order_id)  # type: ignore[arg-type]
        if why is None:
            return None
        return ForeignOrder(
            account=self.account,
            exchange_order_id=order.exchange_order_id,
            client_order_id=cid,
            symbol=order.symbol,
            side=str(order.side),
            type=str(order.type),
            status=str(order.status),
            amount=_plain(order.amount),
            price=None if order.price is None else _plain(order.price),
            filled=_plain(order.filled),
            timestamp_ms=order.timestamp_ms,
            why=why,
        )

    def replay(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Feed one audit-log entry of this account (at start-up, in log order)."""
        stamp = payload.get("_ts_ms")
        if self.first_ms is None and isinstance(stamp, int):
            self.first_ms = stamp
        if kind == "request" and payload.get("op") == "place_order":
            params = payload.get("params") or {}
            cid, symbol, side = params.get("client_order_id"), params.get("symbol"), params.get("side")
            if isinstance(cid, str) and isinstance(symbol, str) and isinstance(side, str):
                self.sent(cid, symbol, side)
        elif kind == "outcome" and payload.get("op") == "place_order" and payload.get("ok"):
            order = payload.get("result") or {}
            cid, eid = order.get("client_order_id"), order.get("exchange_order_id")
            if isinstance(cid, str) and isinstance(eid, str):
                self.answered(cid, eid)
        elif kind == "leak_ack":
            ids = payload.get("exchange_order_ids") or []
            if isinstance(ids, list):
                self.acknowledge(ids, at_ms=stamp if isinstance(stamp, int) else 0)
        elif kind == "reconciled":
            cid, eid = payload.get("client_order_id"), payload.get("exchange_order_id")
            if isinstance(cid, str) and isinstance(eid, str):
                self.answered(cid, eid)
        elif kind == "leak_checkpoint":
            checkpoint = Checkpoint.from_json(payload)
            if checkpoint is not None:
                self.checkpoint = checkpoint


class ScanExchange(Protocol):
    """What the scan needs from the exchange (the signer's :class:`AsyncCcxtExchange`)."""

    client: Any

    async def fetch_balance(self) -> dict[str, Balance]: ...
    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]: ...
    async def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot: ...
    async def fetch_my_trades(
        self,
        symbol: str,
        *,
        since_ms: int | None = None,
        limit: int | None = None,
        from_id: str | None = None,
        until_ms: int | None = None,
    ) -> list[Trade]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """What one scan found and where it stopped."""

    foreign: tuple[ForeignOrder, ...]
    balances: tuple[BalanceFinding, ...]
    #: Where the next scan starts (None: no baseline yet).
    checkpoint: Checkpoint | None
    changed: bool
    #: False when the balances kept changing while the trades were read: orders were judged,
    #: balances were not, and the checkpoint stays where it was.
    reconciled: bool
    symbols: int
    trades: int
    requests: int


@dataclass(slots=True)
class _Effects:
    ours: dict[str, Decimal] = field(default_factory=dict)
    foreign: dict[str, Decimal] = field(default_factory=dict)

    def add(self, target: dict[str, Decimal], trade: Trade) -> None:
        base, _, quote = trade.symbol.partition("/")
        quote = quote.split(":")[0]
        cost = trade.cost if trade.cost is not None else trade.price * trade.amount
        sign = 1 if trade.side == "buy" else -1
        target[base] = target.get(base, _ZERO) + sign * trade.amount
        target[quote] = target.get(quote, _ZERO) - sign * cost
        if trade.fee and trade.fee_currency:
            target[trade.fee_currency] = target.get(trade.fee_currency, _ZERO) - trade.fee


def _totals(balances: Mapping[str, Balance]) -> dict[str, Decimal]:
    return {asset: b.total for asset, b in balances.items() if b.total != 0}


class LeakScan:
    """One reconciliation of an account with the exchange (see the module docstring).

    Parameters
    ----------
    exchange
        The account's exchange client.
    sent
        The account's record of sent orders; its checkpoint is where the scan starts.
    pairs
        The allowlisted pairs (always scanned).
    not_before_ms
        Ignore trades and orders older than this (the account's first audited entry).
    now_ms
        The signer's clock, for the new checkpoint.
    page
        Trades per request.
    paging
        How the exchange pages own trades (the venue's ``trade_paging``): ``"trade_id"``, from
        the trade after the last one read (Binance ``fromId``); ``"time"``, from the millisecond
        after the newest trade read, a full page narrowed by its oldest time until a page is not
        full (KuCoin ``startAt``/``endAt``, newest first; its trade ids need not be numbers). The
        checkpoint keeps, per symbol, the last trade id or the newest trade time accordingly (a
        trade landing later in that same millisecond is not read; the balance reconciliation
        reports it as unexplained, so it is never silently lost).
    """

    def __init__(
        self,
        exchange: ScanExchange,
        sent: SentOrders,
        *,
        pairs: Iterable[str],
        not_before_ms: int,
        now_ms: int,
        page: int = PAGE,
        paging: TradePaging = "trade_id",
    ) -> None:
        self.exchange = exchange
        self.sent = sent
        self.pairs = tuple(pairs)
        self.not_before_ms = not_before_ms
        self.now_ms = now_ms
        self.page = page
        self.paging = paging
        self.requests = 0
        start = sent.checkpoint
        self._last_ids: dict[str, int] = dict(start.last_trade_ids) if start is not None else {}
        self._trades: list[Trade] = []

    async def run(self) -> ScanReport:
        """Scan, reconcile and return the findings and the new checkpoint."""
        start = self.sent.checkpoint
        markets: Mapping[str, Any] = self.exchange.client.markets or {}
        held = set(start.balances) if start is not None else set()
        open_orders = await self._call(self.exchange.fetch_open_orders(None))
        balances = _totals(await self._call(self.exchange.fetch_balance()))
        for _attempt in range(_ATTEMPTS):
            held |= set(balances)
            scanned: set[str] = set()
            while True:  # a trade in a new asset widens the set of symbols to read
                symbols = self._symbols(markets, held) - scanned
                if not symbols:
                    break
                for symbol in sorted(symbols):
                    for trade in await self._page_through(symbol):
                        held.update(trade.symbol.split(":")[0].split("/"))
                scanned |= symbols
            after = _totals(await self._call(self.exchange.fetch_balance()))
            if after == balances:
                reconciled = True
                break
            balances = after
        else:
            # Fills keep landing (a busy grid): judge the orders behind the trades read, but keep
            # the checkpoint where it was, so the next scan reconciles these balances again.
            reconciled = False
        foreign, effects = await self._judge(open_orders)
        if not reconciled:
            return ScanReport(
                foreign=tuple(foreign),
                balances=(),
                checkpoint=start,
                changed=False,
                reconciled=False,
                symbols=len(scanned),
                trades=len(self._trades),
                requests=self.requests,
            )
        findings = self._reconcile(start, balances, effects)
        checkpoint = Checkpoint(at_ms=self.now_ms, balances=balances, last_trade_ids=dict(self._last_ids))
        changed = start is None or start.balances != checkpoint.balances or start.last_trade_ids != self._last_ids
        return ScanReport(
            foreign=tuple(foreign),
            balances=tuple(findings),
            checkpoint=checkpoint,
            changed=changed,
            reconciled=True,
            symbols=len(scanned),
            trades=len(self._trades),
            requests=self.requests,
        )

    async def _call(self, awaitable: Any) -> Any:
        self.requests += 1
        return await awaitable

    def _symbols(self, markets: Mapping[str, Any], held: set[str]) -> set[str]:
        symbols = {s for s in self.pairs if s in markets}
        symbols.update(s for s in self._last_ids if s in markets)
        for symbol, market in markets.items():
            if market.get("spot") and (market.get("base") in held or market.get("quote") in held):
                symbols.add(symbol)
        return symbols

    async def _page_through(self, symbol: str) -> list[Trade]:
        """Read every trade of ``symbol`` after the last one read; return the new ones."""
        if self.paging == "time":
            return await self._page_by_time(symbol)
        fresh: list[Trade] = []
        while True:
            last = self._last_ids.get(symbol)
            if last is None:
                page = await self._call(
                    self.exchange.fetch_my_trades(symbol, since_ms=self.not_before_ms, limit=self.page)
                )
            else:
                page = await self._call(self.exchange.fetch_my_trades(symbol, from_id=str(last + 1), limit=self.page))
            newest = last
            for trade in page:
                try:
                    trade_id = int(trade.trade_id)
                except ValueError:
                    raise ExchangeError(
                        f"{symbol}: trade id {trade.trade_id!r} is not a number; the leak scan pages by trade id"
                    ) from None
                if (last is None or trade_id > last) and trade.timestamp_ms >= self.not_before_ms:
                    fresh.append(trade)
                newest = trade_id if newest is None else max(newest, trade_id)
            if newest is not None:
                self._last_ids[symbol] = newest
            if len(page) < self.page or newest == last:
                break
        self._trades.extend(fresh)
        return fresh

    async def _page_by_time(self, symbol: str) -> list[Trade]:
        """Read every trade of ``symbol`` after the newest time read, however the exchange orders a page."""
        last = self._last_ids.get(symbol)
        since = self.not_before_ms if last is None else max(last + 1, self.not_before_ms)
        found: dict[str, Trade] = {}
        until: int | None = None  # open-ended first: a fill landing now is read, not left unexplained
        while True:
            page = await self._call(
                self.exchange.fetch_my_trades(symbol, since_ms=since, limit=self.page, until_ms=until)
            )
            for trade in page:
                if trade.timestamp_ms >= since and (until is None or trade.timestamp_ms <= until):
                    found.setdefault(trade.trade_id, trade)
            if len(page) < self.page:
                break
            oldest = min(trade.timestamp_ms for trade in page)
            # Inclusive: trades sharing that millisecond are read again, once (by trade id). A
            # full page within one millisecond cannot be paged inside it: go below it; a trade
            # missed there shows as an unexplained balance change, never as nothing.
            until = oldest if until is None or oldest < until else oldest - 1
        fresh = sorted(found.values(), key=lambda t: (t.timestamp_ms, t.trade_id))
        if fresh:
            self._last_ids[symbol] = max(last or 0, fresh[-1].timestamp_ms)
        self._trades.extend(fresh)
        return fresh

    async def _judge(self, open_orders: list[OrderSnapshot]) -> tuple[list[ForeignOrder], _Effects]:
        verdicts: dict[OrderId, ForeignOrder | None] = {}
        account = self.sent.account
        for order in open_orders:
            if order.timestamp_ms is not None and order.timestamp_ms < self.not_before_ms:
                continue
            verdicts[OrderId(account, order.symbol, order.exchange_order_id)] = self.sent.judge(order)
        effects = _Effects()
        for trade in self._trades:
            key = OrderId(account, trade.symbol, trade.order_id)
            if key not in verdicts:
                if self.sent.is_ours(trade.symbol, trade.order_id):
                    verdicts[key] = None
                else:
                    order = await self._call(self.exchange.fetch_order(trade.symbol, exchange_order_id=trade.order_id))
                    verdicts[key] = self.sent.judge(order)
            effects.add(effects.ours if verdicts[key] is None else effects.foreign, trade)
        return [v for v in verdicts.values() if v is not None], effects

    def _reconcile(
        self, start: Checkpoint | None, balances: Mapping[str, Decimal], effects: _Effects
    ) -> list[BalanceFinding]:
        if start is None:  # no baseline yet: this scan sets it
            return []
        findings = []
        assets = set(start.balances) | set(balances) | set(effects.ours) | set(effects.foreign)
        for asset in sorted(assets):
            before = start.balances.get(asset, _ZERO)
            after = balances.get(asset, _ZERO)
            ours = effects.ours.get(asset, _ZERO)
            foreign = effects.foreign.get(asset, _ZERO)
            unexplained = after - before - ours - foreign
            if unexplained != 0:
                findings.append(
                    BalanceFinding(
                        asset=asset,
                        before=before,
                        after=after,
                        explained=ours,
                        foreign=foreign,
                        unexplained=unexplained,
                        since_ms=start.at_ms,
                    )
                )
        return findings
