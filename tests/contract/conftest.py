"""Venues for the exchange contract suite.

A *venue* is one adapter (sync or async) pointed at one exchange we control, plus the few
levers the suite needs to steer that exchange (advance the market, inject a fault, skew the
clock). To run the suite against a second adapter, add a venue factory here; the tests in
this folder use only the :class:`Venue` interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bastion.exchanges.ccxt import AsyncCcxtExchange, CcxtExchange
from bastion.exchanges.credentials import ApiCredentials
from support.simulator import SimulatorProcess, make_key


class _LoopThread:
    """An event loop in a thread, so the async adapter runs behind a blocking facade."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class AsyncFacade:
    """Blocking view of an async port: each coroutine method is run on the loop thread."""

    def __init__(self, port: AsyncCcxtExchange, loop: _LoopThread) -> None:
        self._port = port
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._port, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **kw: self._loop.run(attr(*a, **kw))
        return attr


@dataclasses.dataclass
class Venue:
    """One adapter on one controllable exchange."""

    name: str
    port: Any
    symbol: str
    quote: str
    base: str
    advance: Callable[[int], None]
    fault: Callable[..., None]
    unknown_requests: Callable[[], list[Any]]
    make_port: Callable[[ApiCredentials], Any]
    credentials: ApiCredentials
    skew_clock: Callable[[Any, int], None]

    @contextlib.contextmanager
    def loosened_market(self) -> Iterator[None]:
        """Let orders that break the tick size through the adapter's own check, to the exchange."""
        market = self.port.market(self.symbol)
        loose = dataclasses.replace(market, tick_size=market.tick_size / 1000, min_notional=None)
        markets = self.port._markets
        markets[self.symbol] = loose
        try:
            yield
        finally:
            markets[self.symbol] = market


def _ccxt_skew(port: Any, ms: int) -> None:
    # ccxt signs with milliseconds() - options['timeDifference']
    port.client.options["timeDifference"] = ms


@pytest.fixture(scope="module")
def _simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    keys = [
        make_key("alice", {"USDT": "10000", "BTC": "1"}),
        make_key("poor", {"USDT": "20"}),
    ]
    with SimulatorProcess(tmp_path_factory.mktemp("sim"), speed=0, keys=keys) as sim:
        yield sim


@pytest.fixture(scope="module")
def _loop() -> Iterator[_LoopThread]:
    loop = _LoopThread()
    yield loop
    loop.stop()


@pytest.fixture(params=["sync", "async"])
def venue(request: pytest.FixtureRequest, _simulator: SimulatorProcess, _loop: _LoopThread) -> Iterator[Venue]:
    sim = _simulator
    key = sim.keys[0]
    creds = ApiCredentials(key["api_key"], key["secret"])
    opened: list[Any] = []

    def make_port(credentials: ApiCredentials) -> Any:
        if request.param == "sync":
            port: Any = CcxtExchange("simulator", credentials=credentials, url=sim.url, timeout_ms=3000)
        else:
            port = AsyncFacade(
                _loop.run(_make_async(credentials, sim.url)),
                _loop,
            )
        opened.append(port)
        port.load_markets()
        return port

    port = make_port(creds)
    yield Venue(
        name=f"simulator-{request.param}",
        port=port,
        symbol="BTC/USDT",
        quote="USDT",
        base="BTC",
        advance=sim.advance,
        fault=sim.fault,
        unknown_requests=sim.unknown,
        make_port=make_port,
        credentials=creds,
        skew_clock=_ccxt_skew,
    )
    for p in opened:
        p.close()
    # leave the account as we found it: no open orders between tests
    cleanup = CcxtExchange("simulator", credentials=creds, url=sim.url)
    cleanup.load_markets()
    for order in cleanup.fetch_open_orders():
        cleanup.cancel_order(order.symbol, exchange_order_id=order.exchange_order_id)
    cleanup.close()


async def _make_async(credentials: ApiCredentials, url: str) -> AsyncCcxtExchange:
    return AsyncCcxtExchange("simulator", credentials=credentials, url=url, timeout_ms=3000)


@pytest.fixture
def poor_credentials(_simulator: SimulatorProcess) -> ApiCredentials:
    key = _simulator.keys[1]
    return ApiCredentials(key["api_key"], key["secret"])

