"""The web's price cache: an exchange's markets are read once per hour and a ticker once per 15 s,
not on every overview view; an old ticker is read again and shows the new price; a failure is not kept;
an asset the cached markets cannot price has them read again, at most once per recheck.

Prices come from the real simulator through the real ccxt client; the counting wrapper only
counts what the cache asks of that real source.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.errors import ExchangeError
from bastion.exchanges.port import Ticker
from bastion.services import portfolio as portfolio_module
from bastion.services.portfolio import AccountBalances, PriceCache, PriceSource, portfolio
from support.simulator import SimulatorProcess


class Counted:
    """The real source, with how often the cache opened it and asked for each ticker."""

    opened = 0

    def __init__(self, exchange_id: str, url: str | None) -> None:
        self.inner = portfolio_module._fresh_prices(exchange_id, url)
        self.asked: list[str] = []
        self.closed = False
        Counted.opened += 1

    def symbols(self) -> frozenset[str]:
        return self.inner.symbols()

    def ticker(self, symbol: str) -> Ticker | None:
        self.asked.append(symbol)
        return self.inner.ticker(symbol)

    def close(self) -> None:
        self.closed = True
        portfolio_module._close(self.inner)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class NoSigner:
    """No live account: only the paper one below is valued (its prices still come from the exchange)."""

    def call(self, op: str, **_params: object) -> object:
        assert op == "key_status"
        return []


def _value(cache: PriceCache, url: str) -> Decimal:
    paper = [AccountBalances(account="p", exchange="simulator", url=url, paper=True, balances={"BTC": Decimal(1)})]
    valued = portfolio(quote="USDT", signer=NoSigner(), paper=lambda: paper, prices=cache.source)
    (account,) = valued.paper
    assert account.error is None
    return account.total


def test_markets_and_tickers_are_kept_between_calls_and_read_again_once_old(simulator: SimulatorProcess) -> None:
    Counted.opened = 0
    clock = Clock()
    built: list[Counted] = []

    def build(exchange_id: str, url: str | None) -> PriceSource:
        built.append(Counted(exchange_id, url))
        return built[-1]

    cache = PriceCache(markets_ttl_s=3600, ticker_ttl_s=15, build=build, clock=clock)
    first = _value(cache, simulator.url)
    assert first == Decimal(str(simulator.client().fetch_ticker("BTC/USDT")["last"]))
    simulator.advance(50)  # the exchange's price moves
    moved = Decimal(str(simulator.client().fetch_ticker("BTC/USDT")["last"]))
    assert moved != first

    clock.now += 10  # within 15 s: the same ticker, nothing read
    assert _value(cache, simulator.url) == first
    assert Counted.opened == 1
    assert built[0].asked == ["BTC/USDT"]
    assert not built[0].closed  # portfolio() closes its sources; the cache keeps this one open

    clock.now += 10  # 20 s: the ticker is read again and shows the new price; markets are not
    assert _value(cache, simulator.url) == moved
    assert Counted.opened == 1
    assert built[0].asked == ["BTC/USDT", "BTC/USDT"]

    clock.now += 3600  # markets an hour old: the exchange is opened again (markets read again)
    assert _value(cache, simulator.url) == moved
    assert Counted.opened == 2
    assert built[0].closed
    cache.close()
    assert built[1].closed


def test_a_failure_to_open_an_exchange_is_not_kept(simulator: SimulatorProcess) -> None:
    attempts: list[str] = []

    def build(exchange_id: str, url: str | None) -> PriceSource:
        attempts.append(exchange_id)
        if len(attempts) == 1:
            raise ExchangeError("exchange unreachable")
        return portfolio_module._fresh_prices(exchange_id, url)

    cache = PriceCache(build=build, clock=Clock())
    paper = [AccountBalances(account="p", exchange="simulator", url=simulator.url, paper=True,
                             balances={"BTC": Decimal(1)})]  # fmt: skip
    valued = portfolio(quote="USDT", signer=NoSigner(), paper=lambda: paper, prices=cache.source)
    assert "exchange unreachable" in (valued.paper[0].error or "")
    assert _value(cache, simulator.url) > 0  # the next view tries again, and reads the prices
    assert len(attempts) == 2
    cache.close()


class ListedLater(Counted):
    """The real source, as read before ``hidden`` was listed: its markets do not have them yet."""

    hidden: frozenset[str] = frozenset()

    def symbols(self) -> frozenset[str]:
        return self.inner.symbols() - self.hidden


def _holding(cache: PriceCache, url: str, balances: dict[str, Decimal]) -> dict[str, Decimal | None]:
    paper = [AccountBalances(account="p", exchange="simulator", url=url, paper=True, balances=balances)]
    valued = portfolio(quote="USDT", signer=NoSigner(), paper=lambda: paper, prices=cache.source)
    (account,) = valued.paper
    assert account.error is None
    return {h.asset: h.price for h in account.holdings}


def test_a_pair_listed_after_the_markets_were_read_is_priced_within_the_recheck(simulator: SimulatorProcess) -> None:
    clock = Clock()
    built: list[ListedLater] = []

    def build(exchange_id: str, url: str | None) -> PriceSource:
        source = ListedLater(exchange_id, url)
        source.hidden = frozenset({"BTC/USDT"}) if not built else frozenset()  # listed after the first read
        built.append(source)
        return source

    cache = PriceCache(markets_ttl_s=3600, recheck_s=300, build=build, clock=clock)
    assert _holding(cache, simulator.url, {"BTC": Decimal(1)}) == {"BTC": None}  # unpriced, never 0
    clock.now += 200  # within the recheck: the markets are not read again for it
    assert _holding(cache, simulator.url, {"BTC": Decimal(1)}) == {"BTC": None}
    assert len(built) == 1
    clock.now += 100  # 300 s: an unpriced asset has the markets read again, and the new pair prices it
    price = _holding(cache, simulator.url, {"BTC": Decimal(1)})["BTC"]
    assert price == Decimal(str(simulator.client().fetch_ticker("BTC/USDT")["last"]))
    assert len(built) == 2
    assert built[0].closed
    assert not built[1].closed
    cache.close()


def test_an_asset_no_market_prices_reads_the_markets_at_most_once_per_recheck(simulator: SimulatorProcess) -> None:
    clock = Clock()
    attempts: list[str] = []

    def build(exchange_id: str, url: str | None) -> PriceSource:
        attempts.append(exchange_id)
        if len(attempts) == 2:
            raise ExchangeError("exchange unreachable")
        return portfolio_module._fresh_prices(exchange_id, url)

    cache = PriceCache(recheck_s=300, build=build, clock=clock)
    dust = {"BTC": Decimal(1), "NOROUTE": Decimal(5)}
    first = _holding(cache, simulator.url, dust)
    assert first["NOROUTE"] is None
    assert first["BTC"] is not None
    for _ in range(5):  # views within the recheck: no market read for the dust
        clock.now += 10
        assert _holding(cache, simulator.url, dust) == first
    assert len(attempts) == 1
    clock.now += 300  # the re-read fails: the old markets stay, BTC is still priced, no error shown
    assert _holding(cache, simulator.url, dust) == first
    assert len(attempts) == 2
    clock.now += 10  # the failed attempt counts: not asked again on the next view
    assert _holding(cache, simulator.url, dust) == first
    assert len(attempts) == 2
    clock.now += 300
    assert _holding(cache, simulator.url, dust)["NOROUTE"] is None
    assert len(attempts) == 3
    cache.close()


def test_lifetimes_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="lifetimes must be >= 0 s"):
        PriceCache(ticker_ttl_s=-1)
    with pytest.raises(ValueError, match="recheck -1"):
        PriceCache(recheck_s=-1)
