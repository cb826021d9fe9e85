"""The web's price cache: an exchange's markets are read once per hour and a ticker once per 15 s,
not on every overview view; an old ticker is read again and shows the new price; a failure is not kept.

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


def test_lifetimes_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="lifetimes must be >= 0 s"):
        PriceCache(ticker_ttl_s=-1)
