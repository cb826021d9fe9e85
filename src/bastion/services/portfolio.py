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

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from bastion.errors import ValidationError
from bastion.exchanges.port import Ticker

__all__ = [
    "BRIDGES",
    "AccountBalances",
    "AccountValue",
    "Holding",
    "Portfolio",
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
    """Public tickers of one exchange, read once per symbol (no key)."""

    def __init__(self, exchange_id: str, url: str | None) -> None:
        from bastion.exchanges.ccxt.adapter import CcxtExchange

        self._exchange = CcxtExchange(exchange_id, url=url)
        self._symbols = frozenset(self._exchange.load_markets())
        self._tickers: dict[str, Ticker | None] = {}

    def symbols(self) -> frozenset[str]:
        return self._symbols

    def ticker(self, symbol: str) -> Ticker | None:
        if symbol not in self._tickers:
            self._tickers[symbol] = self._exchange.fetch_ticker(symbol) if symbol in self._symbols else None
        return self._tickers[symbol]

    def close(self) -> None:
        self._exchange.close()


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
    from bastion.errors import BastionError
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
