"""One portfolio across accounts: balances valued in one quote currency, totals and 24 h change.

:func:`portfolio` is what ``bastion portfolio`` prints and the web overview shows. Balances of
live accounts come from the signer's ``balances`` RPC (only the signer holds keys); prices come
from each account's exchange's public tickers (no key). An asset is valued

- at 1 when it is the quote currency itself;
- through the direct pair (``ETH/USDT``), or its inverse (``USDT/TRY``: 1 / price);
- else through one intermediate currency (``ETH/BTC`` then ``BTC/USDT``), trying the
  intermediates of :data:`BRIDGES` in order, each leg direct or inverse.

Prices are the ticker's last price (mid of bid and ask when there is no last). The 24 h change
uses each leg's 24 h open. An asset no route prices is listed with no value and named in
``unpriced``; totals never pretend it is zero.

Paper accounts are shown apart (``Portfolio.paper``) and never added to the live total. Their
balances come from :data:`PaperSource` (the paper-trading accounts provide one; see
:func:`paper_accounts`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from bastion.errors import BastionError, ValidationError
from bastion.exchanges.port import Ticker

__all__ = [
    "BRIDGES",
    "AccountBalances",
    "AccountValue",
    "Holding",
    "Portfolio",
    "PriceCache",
    "PriceSource",
    "paper_accounts",
    "portfolio",
    "price_in",
    "value_accounts",
]

#: Intermediate currencies tried, in order, when an asset has no pair with the quote currency.
BRIDGES: tuple[str, ...] = ("USDT", "BTC", "ETH", "USDC", "BNB", "EUR")

_ZERO = Decimal(0)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountBalances:
    """One account's balances (total = free + used per asset) and where its prices come from."""

    account: str
    exchange: str
    balances: Mapping[str, Decimal]
    url: str | None = None
    paper: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """One asset of one account, valued in the portfolio's quote currency."""

    asset: str
    amount: Decimal
    price: Decimal | None
    value: Decimal | None
    value_24h_ago: Decimal | None
    #: The pairs the price came through, such as ``("ETH/BTC", "BTC/USDT")``; empty for the quote itself.
    route: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountValue:
    """One account's holdings and total."""

    account: str
    exchange: str
    paper: bool
    holdings: tuple[Holding, ...]
    total: Decimal
    total_24h_ago: Decimal | None
    unpriced: tuple[str, ...]
    #: Why the account could not be read (the signer or the exchange did not answer), or None.
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Portfolio:
    """Every account valued in ``quote``: totals, per exchange and per asset; paper accounts apart."""

    quote: str
    accounts: tuple[AccountValue, ...]
    paper: tuple[AccountValue, ...]
    total: Decimal
    total_24h_ago: Decimal | None
    by_exchange: Mapping[str, Decimal]
    #: Asset -> (amount over every live account, value in ``quote``; None when unpriced).
    by_asset: Mapping[str, tuple[Decimal, Decimal | None]]
    unpriced: tuple[str, ...] = field(default=())

    @property
    def change_24h_pct(self) -> Decimal | None:
        """The live total's change over 24 h in percent (None without every 24 h open)."""
        if self.total_24h_ago is None or self.total_24h_ago == 0:
            return None
        return (self.total - self.total_24h_ago) / self.total_24h_ago * 100

    def to_json(self) -> dict[str, Any]:
        """Return the portfolio as JSON-ready data (Decimals as plain strings)."""

        def text(value: Decimal | None) -> str | None:
            return None if value is None else format(value.normalize(), "f")

        def account(a: AccountValue) -> dict[str, Any]:
            return {
                "account": a.account,
                "exchange": a.exchange,
                "paper": a.paper,
                "total": text(a.total),
                "total_24h_ago": text(a.total_24h_ago),
                "unpriced": list(a.unpriced),
                "error": a.error,
                "holdings": [
                    {
                        "asset": h.asset,
                        "amount": text(h.amount),
                        "price": text(h.price),
                        "value": text(h.value),
                        "value_24h_ago": text(h.value_24h_ago),
                        "route": list(h.route),
                    }
                    for h in a.holdings
                ],
            }

        change = self.change_24h_pct
        return {
            "quote": self.quote,
            "total": text(self.total),
            "total_24h_ago": text(self.total_24h_ago),
            "change_24h_pct": None if change is None else text(change.quantize(Decimal("0.01"))),
            "by_exchange": {k: text(v) for k, v in self.by_exchange.items()},
            "by_asset": {k: {"amount": text(a), "value": text(v)} for k, (a, v) in self.by_asset.items()},
            "unpriced": list(self.unpriced),
            "accounts": [account(a) for a in self.accounts],
            "paper": [account(a) for a in self.paper],
        }


class PriceSource(Protocol):
    """Public tickers of one exchange: the market symbols it lists and a ticker by symbol."""

    def symbols(self) -> frozenset[str]:
        """Return the spot symbols the exchange lists."""
        ...

    def ticker(self, symbol: str) -> Ticker | None:
        """Return the symbol's ticker, or None when the exchange has none."""
        ...


def _price(ticker: Ticker | None) -> tuple[Decimal | None, Decimal | None]:
    if ticker is None:
        return None, None
    now = ticker.last
    if now is None and ticker.bid is not None and ticker.ask is not None:
        now = (ticker.bid + ticker.ask) / 2
    return now, ticker.open_24h


def _leg(source: PriceSource, base: str, quote: str) -> tuple[Decimal, Decimal | None, str] | None:
    """Price of 1 ``base`` in ``quote`` (now, 24 h ago) through ``base/quote`` or ``quote/base``."""
    symbols = source.symbols()
    direct, inverse = f"{base}/{quote}", f"{quote}/{base}"
    if direct in symbols:
        now, before = _price(source.ticker(direct))
        if now is not None and now > 0:
            return now, before, direct
    if inverse in symbols:
        now, before = _price(source.ticker(inverse))
        if now is not None and now > 0:
            return _ONE / now, (_ONE / before if before else None), inverse
    return None


def price_in(
    source: PriceSource, asset: str, quote: str, bridges: Iterable[str] = BRIDGES
) -> tuple[Decimal, Decimal | None, tuple[str, ...]] | None:
    """Return the price of 1 ``asset`` in ``quote`` now and 24 h ago, and the pairs used; None if no route.

    See the module docstring for the routes tried.
    """
    if asset == quote:
        return _ONE, _ONE, ()
    direct = _leg(source, asset, quote)
    if direct is not None:
        return direct[0], direct[1], (direct[2],)
    for bridge in bridges:
        if bridge in (asset, quote):
            continue
        first = _leg(source, asset, bridge)
        if first is None:
            continue
        second = _leg(source, bridge, quote)
        if second is None:
            continue
        before = first[1] * second[1] if first[1] is not None and second[1] is not None else None
        return first[0] * second[0], before, (first[2], second[2])
    return None


def _quote_only(asset: str, quote: str) -> tuple[Decimal, Decimal | None, tuple[str, ...]] | None:
    return (_ONE, _ONE, ()) if asset == quote else None


def _value_account(account: AccountBalances, source: PriceSource | None, quote: str, error: str | None) -> AccountValue:
    holdings: list[Holding] = []
    unpriced: list[str] = []
    total = _ZERO
    total_before: Decimal | None = _ZERO
    for asset in sorted(account.balances):
        amount = account.balances[asset]
        if amount == 0:
            continue
        priced = price_in(source, asset, quote) if source is not None else _quote_only(asset, quote)
        if priced is None and isinstance(source, _CachedSource) and source.reread_markets():
            priced = price_in(source, asset, quote)  # a pair listed since the cached markets were read
        if priced is None:
            unpriced.append(asset)
            holdings.append(Holding(asset=asset, amount=amount, price=None, value=None, value_24h_ago=None, route=()))
            continue
        now, before, route = priced
        value = amount * now
        value_before = amount * before if before is not None else None
        total += value
        total_before = total_before + value_before if total_before is not None and value_before is not None else None
        holdings.append(
            Holding(asset=asset, amount=amount, price=now, value=value, value_24h_ago=value_before, route=route)
        )
    return AccountValue(
        account=account.account,
        exchange=account.exchange,
        paper=account.paper,
        holdings=tuple(holdings),
        total=total,
        total_24h_ago=total_before,
        unpriced=tuple(unpriced),
        error=error,
    )


def value_accounts(
    accounts: Iterable[AccountBalances],
    sources: Callable[[AccountBalances], PriceSource | None],
    *,
    quote: str = "USDT",
    errors: Mapping[str, str] | None = None,
) -> Portfolio:
    """Value ``accounts`` in ``quote`` with each one's price source; no I/O of its own.

    Parameters
    ----------
    accounts
        Balances per account (paper accounts flagged ``paper``).
    sources
        The public prices of an account's exchange (None when they cannot be read).
    quote
        The currency every value is in.
    errors
        Account name -> why its balances could not be read (shown on the account).
    """
    quote = _check_quote(quote)
    live: list[AccountValue] = []
    paper: list[AccountValue] = []
    for account in accounts:
        valued = _value_account(account, sources(account), quote, (errors or {}).get(account.account))
        (paper if account.paper else live).append(valued)
    for name, why in (errors or {}).items():
        if not any(a.account == name for a in (*live, *paper)):
            live.append(
                AccountValue(
                    account=name,
                    exchange="?",
                    paper=False,
                    holdings=(),
                    total=_ZERO,
                    total_24h_ago=None,
                    unpriced=(),
                    error=why,
                )
            )
    total = sum((a.total for a in live), _ZERO)
    befores = [a.total_24h_ago for a in live if a.holdings]
    total_before = None if any(b is None for b in befores) else sum((b for b in befores if b is not None), _ZERO)
    by_exchange: dict[str, Decimal] = {}
    by_asset: dict[str, tuple[Decimal, Decimal | None]] = {}
    for account_value in live:
        by_exchange[account_value.exchange] = by_exchange.get(account_value.exchange, _ZERO) + account_value.total
        for h in account_value.holdings:
            amount, value = by_asset.get(h.asset, (_ZERO, _ZERO))
            by_asset[h.asset] = (
                amount + h.amount,
                value + h.value if value is not None and h.value is not None else None,
            )
    unpriced = sorted({asset for a in live for asset in a.unpriced})
    return Portfolio(
        quote=quote,
        accounts=tuple(live),
        paper=tuple(paper),
        total=total,
        total_24h_ago=total_before,
        by_exchange=dict(sorted(by_exchange.items())),
        by_asset=dict(sorted(by_asset.items(), key=lambda kv: (-(kv[1][1] or _ZERO), kv[0]))),
        unpriced=tuple(unpriced),
    )


def _check_quote(quote: str) -> str:
    if not isinstance(quote, str) or not quote.isalnum() or not quote.isupper() or len(quote) > 16:
        raise ValidationError(f"--quote must be an upper-case currency code such as USDT or BTC, got {quote!r}")
    return quote


class _ExchangePrices:
    """Public tickers of one exchange (no key): read once per symbol, or every time without ``memo``."""

    def __init__(self, exchange_id: str, url: str | None, *, memo: bool = True) -> None:
        from bastion.exchanges.ccxt.adapter import CcxtExchange

        self._exchange = CcxtExchange(exchange_id, url=url)
        self._symbols = frozenset(self._exchange.load_markets())
        self._tickers: dict[str, Ticker | None] = {}
        self._memo = memo

    def symbols(self) -> frozenset[str]:
        return self._symbols

    def ticker(self, symbol: str) -> Ticker | None:
        if symbol not in self._tickers or not self._memo:
            self._tickers[symbol] = self._exchange.fetch_ticker(symbol) if symbol in self._symbols else None
        return self._tickers[symbol]

    def close(self) -> None:
        self._exchange.close()


class PriceCache:
    """Public prices kept between calls of :func:`portfolio`, for a process that values often (the web).

    Without it every call opens each exchange, reads all its markets (Binance's exchangeInfo is
    several megabytes and weighs 20 of its 6,000 per minute) and a ticker per asset: on every
    overview page view. With it an exchange's markets are read once per ``markets_ttl_s`` and a
    ticker once per ``ticker_ttl_s``; a failure is not kept (the next call tries again). An asset
    that the cached markets cannot price (a pair listed since they were read) has them read again,
    at most once per ``recheck_s``: dust with no route at all does not read them on every view.

    Parameters
    ----------
    markets_ttl_s, ticker_ttl_s
        How long markets and tickers are reused (seconds).
    recheck_s
        How soon markets may be read again for an asset they could not price (seconds).
    build
        Opens the price source of an exchange id and URL (by default its public ccxt tickers).
    clock
        Seconds, monotonic.
    """

    def __init__(
        self,
        *,
        markets_ttl_s: float = 3600.0,
        ticker_ttl_s: float = 15.0,
        recheck_s: float = 300.0,
        build: Callable[[str, str | None], PriceSource] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if markets_ttl_s < 0 or ticker_ttl_s < 0 or recheck_s < 0:
            raise ValidationError(
                f"cache lifetimes must be >= 0 s, got markets {markets_ttl_s}, ticker {ticker_ttl_s}, "
                f"recheck {recheck_s}"
            )
        self._markets_ttl = markets_ttl_s
        self._recheck = recheck_s
        self._ticker_ttl = ticker_ttl_s
        self._build: Callable[[str, str | None], PriceSource] = build or _fresh_prices
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: dict[tuple[str, str | None], _CachedSource] = {}

    def source(self, exchange_id: str, url: str | None) -> PriceSource:
        """The cached price source of an exchange (pass the cache's ``source`` as ``portfolio(prices=...)``)."""
        key = (exchange_id, url)
        with self._lock:
            cached = self._sources.get(key)
            if cached is None:
                cached = self._sources[key] = _CachedSource(self, exchange_id, url)
        cached.refresh()
        return cached

    def close(self) -> None:
        """Close every exchange client the cache opened."""
        with self._lock:
            sources, self._sources = list(self._sources.values()), {}
        for cached in sources:
            cached.drop()


class _CachedSource:
    """One exchange's source behind a :class:`PriceCache`: reopened when its markets are too old."""

    def __init__(self, cache: PriceCache, exchange_id: str, url: str | None) -> None:
        self._cache = cache
        self._exchange_id, self._url = exchange_id, url
        self._lock = threading.Lock()  # one ccxt client: one request at a time
        self._inner: PriceSource | None = None
        self._opened_at = 0.0
        self._rechecked_at = 0.0  # the last attempt of reread_markets, failed or not
        self._tickers: dict[str, tuple[float, Ticker | None]] = {}

    def refresh(self) -> None:
        """Open the source (read its markets) if it is not open or its markets are too old."""
        with self._lock:
            now = self._cache._clock()
            if self._inner is not None and now - self._opened_at < self._cache._markets_ttl:
                return
            old, self._inner = self._inner, None
            _close(old)
            self._inner = self._cache._build(self._exchange_id, self._url)  # a failure propagates, kept nowhere
            self._opened_at = now
            self._tickers.clear()

    def reread_markets(self) -> bool:
        """Read the markets again if they are at least ``recheck_s`` old; True when they were.

        The open source is replaced only once the new one is open: a failure keeps the old markets
        (and counts as the attempt, so a failing exchange is not asked on every view).
        """
        with self._lock:
            now = self._cache._clock()
            if self._inner is None or now - max(self._opened_at, self._rechecked_at) < self._cache._recheck:
                return False
            self._rechecked_at = now
            try:
                fresh = self._cache._build(self._exchange_id, self._url)
            except BastionError:
                return False
            old, self._inner = self._inner, fresh
            self._opened_at = now
            self._tickers.clear()
        _close(old)
        return True

    def symbols(self) -> frozenset[str]:
        with self._lock:
            return frozenset() if self._inner is None else self._inner.symbols()

    def ticker(self, symbol: str) -> Ticker | None:
        with self._lock:
            now = self._cache._clock()
            kept = self._tickers.get(symbol)
            if kept is not None and now - kept[0] < self._cache._ticker_ttl:
                return kept[1]
            if self._inner is None:
                return None
            found = self._inner.ticker(symbol)
            self._tickers[symbol] = (now, found)
            return found

    def close(self) -> None:
        """Kept open for the next call (the cache closes it: :meth:`PriceCache.close`)."""

    def drop(self) -> None:
        with self._lock:
            old, self._inner = self._inner, None
            self._tickers.clear()
        _close(old)


def _fresh_prices(exchange_id: str, url: str | None) -> PriceSource:
    return _ExchangePrices(exchange_id, url, memo=False)  # the cache decides how long a ticker lives


def _close(source: object) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


def paper_accounts() -> list[AccountBalances]:
    """Return the paper accounts' balances (flagged ``paper``), shown apart from the live total.

    Each is valued at the public prices of the exchange it paper-trades on.
    """
    from bastion.services.accounts import account_rows

    return [
        AccountBalances(account=row.name, exchange=row.exchange, balances=row.balances, url=row.url, paper=True)
        for row in account_rows()
        if row.mode == "PAPER"
    ]


def portfolio(
    *,
    quote: str = "USDT",
    signer: Any = None,
    paper: Callable[[], Iterable[AccountBalances]] = paper_accounts,
    prices: Callable[[str, str | None], PriceSource] | None = None,
    accounts: Collection[str] | None = None,
) -> Portfolio:
    """Value every account Bastion knows in ``quote``: live ones through the signer, paper ones apart.

    Parameters
    ----------
    quote
        The currency of every value (``USDT`` by default).
    signer
        A signer client (``call(op, **params)``); by default this home's signer.
    paper
        Returns the paper accounts' balances.
    prices
        Builds the price source of an exchange id and URL (by default its public ccxt tickers).
    accounts
        Only these of the signer's accounts (the web user's own); every one when None.

    An account whose balances or prices cannot be read is listed with its error and counts 0.

    Raises
    ------
    ValidationError
        ``quote`` is not a currency code.
    SignerUnavailable
        No signer answers (live balances only come from it).
    """
    from bastion.services.accounts import signer_client

    quote = _check_quote(quote)
    client = signer if signer is not None else signer_client()
    errors: dict[str, str] = {}
    wanted = None if accounts is None else frozenset(accounts)
    balances_of: list[AccountBalances] = []
    for status in client.call("key_status"):  # the signer's accounts: name, exchange, URL
        name, exchange, url = str(status["account"]), str(status["exchange"]), status.get("url")
        if wanted is not None and name not in wanted:
            continue
        try:
            raw = client.call("balances", account=name)
        except BastionError as exc:
            errors[name] = f"balances unavailable: {exc}"
            continue
        balances = {str(c): Decimal(str(b["free"])) + Decimal(str(b["used"])) for c, b in raw.items()}
        balances_of.append(AccountBalances(account=name, exchange=exchange, url=url, balances=balances))
    balances_of.extend(paper())
    build = prices or _ExchangePrices
    opened: dict[tuple[str, str | None], PriceSource | None] = {}

    def source(account: AccountBalances) -> PriceSource | None:
        key = (account.exchange, account.url)
        if key not in opened:
            try:
                opened[key] = build(account.exchange, account.url)
            except BastionError as exc:
                errors.setdefault(account.account, f"prices unavailable: {exc}")
                opened[key] = None
        return opened[key]

    try:
        return value_accounts(balances_of, source, quote=quote, errors=errors)
    finally:
        for opened_source in opened.values():
            close = getattr(opened_source, "close", None)
            if close is not None:
                close()
