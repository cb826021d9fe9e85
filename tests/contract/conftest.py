"""Venues for the exchange contract suite.

A *venue* is one adapter (sync or async) pointed at one exchange we control, plus the few
levers the suite needs to steer that exchange (advance the market, inject a fault, skew the
clock) and the few facts that differ by exchange (how it reports key permissions, which book
depths it serves, how it words a refusal). The tests in this folder use only the
:class:`Venue` interface.

Two exchanges run the suite: the simulator's Binance flavor through the real ccxt ``binance``
client, and its KuCoin flavor (``--flavor kucoin``) through the real ccxt ``kucoin`` client.
One simulator process per flavor serves the whole module.
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

from bastion.domain import OrderStatus
from bastion.exchanges.ccxt import AsyncCcxtExchange, CcxtExchange
from bastion.exchanges.ccxt.factory import KUCOIN_SIMULATOR_ID, SIMULATOR_ID
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.port import ApiRestrictions
from support.simulator import SimulatorProcess, make_key


@dataclasses.dataclass(frozen=True)
class Flavor:
    """What differs between the simulator's exchange flavors, as the suite sees it."""

    name: str
    exchange_id: str
    #: A depth the exchange serves (Binance takes any up to 5000; KuCoin only 20 or 100).
    book_limit: int
    #: How the exchange words "order value below the market's minimum".
    notional_refusal: str
    #: Read the key's permissions through the port's ccxt client: (port, run) -> ApiRestrictions.
    read_restrictions: Callable[[Any, Callable[[Any], Any]], ApiRestrictions]
    #: What the exchange calls an IOC/FOK order whose rest did not fill (KuCoin has no "expired").
    unfilled_rest: OrderStatus = OrderStatus.EXPIRED


def _binance_restrictions(port: Any, run: Callable[[Any], Any]) -> ApiRestrictions:
    return port.fetch_api_restrictions()


def _kucoin_restrictions(port: Any, run: Callable[[Any], Any]) -> ApiRestrictions:
    # KuCoin reports a key's permissions as GET /api/v1/user/api-key {"permission": "General,Spot"}.
    answer = run(port.client.private_get_user_api_key())
    data = answer["data"]
    granted = set(data["permission"].split(","))
    return ApiRestrictions(
        can_read="General" in granted,
        can_trade_spot="Spot" in granted,
        can_withdraw="Withdrawal" in granted,
        can_internal_transfer="InnerTransfer" in granted,
        can_universal_transfer="Transfer" in granted,
        ip_restricted=bool(data.get("ipWhitelist")),
        raw=dict(data),
    )


FLAVORS = {
    "binance": Flavor("binance", SIMULATOR_ID, 10, "NOTIONAL", _binance_restrictions),
    "kucoin": Flavor(
        "kucoin", KUCOIN_SIMULATOR_ID, 20, "funds should more then", _kucoin_restrictions, OrderStatus.CANCELLED
    ),
}


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
    flavor: Flavor
    run: Callable[[Any], Any] = lambda result: result

    @property
    def book_limit(self) -> int:
        """A book depth this exchange serves."""
        return self.flavor.book_limit

    @property
    def notional_refusal(self) -> str:
        """A regex matching the exchange's refusal of an order below the minimum value."""
        return self.flavor.notional_refusal

    def read_restrictions(self, port: Any | None = None) -> Any:
        """Return the API key's permissions as the exchange reports them."""
        return self.flavor.read_restrictions(port or self.port, self.run)

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


@pytest.fixture(scope="module", params=list(FLAVORS))
def _flavor(request: pytest.FixtureRequest) -> Flavor:
    return FLAVORS[request.param]


@pytest.fixture(scope="module")
def _simulator(tmp_path_factory: pytest.TempPathFactory, _flavor: Flavor) -> Iterator[SimulatorProcess]:
    kucoin = _flavor.name == "kucoin"
    keys = [
        make_key("alice", {"USDT": "10000", "BTC": "1"}, passphrase=kucoin),
        make_key("poor", {"USDT": "20"}, passphrase=kucoin),
    ]
    extra = ("--flavor", _flavor.name)
    with SimulatorProcess(tmp_path_factory.mktemp(f"sim-{_flavor.name}"), speed=0, keys=keys, extra_args=extra) as sim:
        yield sim


def _credentials(entry: dict[str, Any]) -> ApiCredentials:
    return ApiCredentials(entry["api_key"], entry["secret"], entry.get("passphrase"))


@pytest.fixture(scope="module")
def _loop() -> Iterator[_LoopThread]:
    loop = _LoopThread()
    yield loop
    loop.stop()


@pytest.fixture(params=["sync", "async"])
def venue(
    request: pytest.FixtureRequest, _simulator: SimulatorProcess, _loop: _LoopThread, _flavor: Flavor
) -> Iterator[Venue]:
    sim = _simulator
    exchange_id = _flavor.exchange_id
    creds = _credentials(sim.keys[0])
    opened: list[Any] = []

    def make_port(credentials: ApiCredentials) -> Any:
        if request.param == "sync":
            port: Any = CcxtExchange(exchange_id, credentials=credentials, url=sim.url, timeout_ms=3000)
        else:
            port = AsyncFacade(
                _loop.run(_make_async(exchange_id, credentials, sim.url)),
                _loop,
            )
        opened.append(port)
        port.load_markets()
        return port

    port = make_port(creds)
    yield Venue(
        name=f"simulator-{_flavor.name}-{request.param}",
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
        flavor=_flavor,
        run=_loop.run if request.param == "async" else (lambda result: result),
    )
    for p in opened:
        p.close()
    # leave the account as we found it: no open orders between tests
    cleanup = CcxtExchange(exchange_id, credentials=creds, url=sim.url)
    cleanup.load_markets()
    for order in cleanup.fetch_open_orders():
        cleanup.cancel_order(order.symbol, exchange_order_id=order.exchange_order_id)
    cleanup.close()


async def _make_async(exchange_id: str, credentials: ApiCredentials, url: str) -> AsyncCcxtExchange:
    return AsyncCcxtExchange(exchange_id, credentials=credentials, url=url, timeout_ms=3000)


@pytest.fixture
def poor_credentials(_simulator: SimulatorProcess) -> ApiCredentials:
    return _credentials(_simulator.keys[1])

