"""The simulator's HTTP server: aiohttp's low-level server, one dispatch table, no per-request I/O.

Start it programmatically::

    config = SimulatorConfig(keys=tuple(load_keys_file("keys.json")), speed=0)
    server = SimulatorServer.from_config(config)
    url = await server.start()          # "http://127.0.0.1:PORT"
    ...
    await server.close()

or blocking, as the CLI does: ``run(config, on_ready=print)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from bastion.errors import ConfigError
from bastion.exchanges.simulator.admin import AdminApi, AdminError
from bastion.exchanges.simulator.api import BinanceApi
from bastion.exchanges.simulator.auth import KeyRing
from bastion.exchanges.simulator.config import FLAVORS, SimulatorConfig, build_venue
from bastion.exchanges.simulator.faults import Fault, FaultPlan
from bastion.exchanges.simulator.format import dumps
from bastion.exchanges.simulator.front import BinanceFront, Front
from bastion.exchanges.simulator.kucoin.api import KucoinApi
from bastion.exchanges.simulator.kucoin.auth import KucoinKeyRing
from bastion.exchanges.simulator.kucoin.front import KucoinFront
from bastion.exchanges.simulator.matching import Clock, FeeSchedule
from bastion.exchanges.simulator.params import parse_params
from bastion.exchanges.simulator.replay import ReplayPacer
from bastion.exchanges.simulator.venue import Venue

__all__ = ["SimulatorServer", "run", "wall_clock_ms"]

_JSON = "application/json"
_FORBIDDEN = b'{"error":"the /_sim/ admin API answers loopback clients only"}'
_MAX_UNKNOWN = 1000
_log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    """Return the wall clock in epoch milliseconds (the server's only clock call)."""
    return time.time_ns() // 1_000_000


def _is_loopback_peer(request: web.BaseRequest) -> bool:
    remote = request.remote
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class SimulatorServer:
    """The HTTP server around a venue, speaking Binance's or KuCoin's API (the *flavor*).

    Parameters
    ----------
    venue
        The simulated exchange.
    keyring
        The API keys.
    flavor
        ``"binance"`` (default) or ``"kucoin"``: which exchange's REST API the venue is served
        through. The admin API (``/_sim/``), the matching core and the replay are the same.
    speed
        Replayed candles per second; None for real time, 0 to hold the replay.
    clock
        Wall-clock epoch milliseconds.
    fees
        Maker and taker rates reported by the account endpoint (the venue charges its own).
    """

    def __init__(
        self,
        venue: Venue,
        keyring: KeyRing,
        *,
        speed: float | None = 0,
        clock: Clock = wall_clock_ms,
        fees: FeeSchedule | None = None,
        flavor: str = "binance",
    ) -> None:
        self.venue = venue
        self.speed = speed
        self.flavor = flavor
        self.faults = FaultPlan()
        self.unknown: list[dict[str, Any]] = []
        self.front = _front(flavor, venue, keyring, clock, fees or FeeSchedule())
        self.api = self.front.api
        self.admin = AdminApi(self.api, self.faults, self.unknown, self._speed_view)
        self._clock = clock
        self._runner: asyncio.AbstractServer | None = None
        self._server: web.Server | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self.url: str | None = None

    @classmethod
    def from_config(cls, config: SimulatorConfig, *, clock: Clock = wall_clock_ms) -> SimulatorServer:
        """Build a server (venue, keys, speed) from ``config``; raises ConfigError."""
        venue = build_venue(config, clock)
        return cls(
            venue, KeyRing(config.keys), speed=config.speed, clock=clock, fees=config.fees, flavor=config.flavor
        )

    def _speed_view(self) -> float | str:
        return "realtime" if self.speed is None else self.speed

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host``:``port`` (0 = a free port), start the replay; return the base URL."""
        loop = asyncio.get_running_loop()
        self._server = web.Server(self._handle, access_log=None)
        self._runner = await loop.create_server(self._server, host, port)
        sockname = self._runner.sockets[0].getsockname()
        shown = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
        self.url = f"http://{shown}:{sockname[1]}"
        rates = {
            s: (1000 / e.candles.timeframe_ms if self.speed is None else float(self.speed))
            for s, e in self.venue.engines.items()
        }
        pacer = ReplayPacer(rates)
        if pacer.active:
            self._replay_task = asyncio.create_task(self._replay(pacer))
        return self.url

    async def close(self) -> None:
        """Stop the replay and the listener, and close open connections."""
        if self._replay_task is not None:
            self._replay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replay_task
            self._replay_task = None
        if self._runner is not None:
            self._runner.close()
            if self._server is not None:
                await self._server.shutdown(1.0)
            await self._runner.wait_closed()
            self._runner = None

    async def _replay(self, pacer: ReplayPacer) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(pacer.tick_seconds)
            now = loop.time()
            for symbol, candles in pacer.due(now - last).items():
                self.venue.engines[symbol].advance(candles)
            last = now

    # --- requests -------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        method = request.method
        path, _, query = request.raw_path.partition("?")
        if path.startswith("/_sim/"):
            return await self._handle_admin(request, method, path, query)
        matched = self.front.match(method, path)
        if matched is None:
            if len(self.unknown) < _MAX_UNKNOWN:
                self.unknown.append({"method": method, "path": path, "time": self._clock()})
            status, payload, content_type = self.front.not_found()
            return web.Response(body=payload, status=status, content_type=content_type)
        fault = self.faults.take(method, path) if self.faults else None
        if fault is not None:
            early = await self._early_fault(request, fault)
            if early is not None:
                return early
        body = await request.read() if request.can_read_body else b""
        fraction: Decimal | None = None
        if method == "POST" and self.faults:
            partial = self.faults.take(method, path, partial_fill=True)
            if partial is not None:
                fraction = partial.fraction
        try:
            status, payload = self.front.respond(matched, method, path, query, body, request.headers, fraction)
        except Exception:
            # A simulator bug: answer as the exchange does and keep serving; never log the request.
            _log.error("internal error in %s %s", method, path, exc_info=True)
            status, payload = self.front.internal_error()
        response = web.Response(body=payload, status=status, content_type=_JSON)
        if fault is not None:
            if fault.kind == "drop_after_accept":
                return self._drop(request, response)
            if fault.kind == "timeout":
                await asyncio.sleep(fault.seconds)
        return response

    async def _early_fault(self, request: web.BaseRequest, fault: Fault) -> web.StreamResponse | None:
        if fault.kind == "429":
            status, payload, headers = self.front.rate_limited(fault.retry_after)
            return web.Response(body=payload, status=status, content_type=_JSON, headers=headers)
        if fault.kind == "5xx":
            payload, content_type = self.front.server_error(fault.status)
            return web.Response(body=payload, status=fault.status, content_type=content_type)
        if fault.kind == "timeout" and not fault.process:
            await asyncio.sleep(fault.seconds)
            return self._drop(request, web.Response(status=504))
        return None

    @staticmethod
    def _drop(request: web.BaseRequest, response: web.Response) -> web.Response:
        transport = request.transport
        if transport is not None:
            transport.abort()
        return response

    async def _handle_admin(self, request: web.BaseRequest, method: str, path: str, query: str) -> web.StreamResponse:
        if not _is_loopback_peer(request):
            return web.Response(body=_FORBIDDEN, status=403, content_type=_JSON)
        handler = self.admin.routes.get((method, path))
        if handler is None:
            if len(self.unknown) < _MAX_UNKNOWN:
                self.unknown.append({"method": method, "path": path, "time": self._clock()})
            return web.Response(
                body=dumps({"error": f"no admin endpoint {method} {path}"}), status=404, content_type=_JSON
            )
        body = await request.read() if request.can_read_body else b""
        try:
            result = handler(parse_params(query.encode(), b""), body)
        except AdminError as exc:
            return web.Response(body=dumps({"error": exc.message}), status=exc.status, content_type=_JSON)
        return web.Response(body=dumps(result), content_type=_JSON)


def _front(flavor: str, venue: Venue, keyring: KeyRing, clock: Clock, fees: FeeSchedule) -> Front:
    if flavor == "binance":
        return BinanceFront(BinanceApi(venue, keyring, clock=clock, fees=fees))
    if flavor == "kucoin":
        try:
            kucoin_keys = KucoinKeyRing(keyring.entries())
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return KucoinFront(KucoinApi(venue, kucoin_keys, clock=clock, fees=fees))
    raise ConfigError(f"unknown simulator flavor {flavor!r}; expected one of {', '.join(FLAVORS)}")


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the lock file
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(config: SimulatorConfig, on_ready: Callable[[str], None]) -> None:
    """Serve ``config`` until SIGINT/SIGTERM; call ``on_ready(url)`` once listening (uvloop if importable).

    Raises
    ------
    ConfigError
        The configuration, a candle file or the keys are wrong.
    OSError
        The address cannot be bound.
    """
    server = SimulatorServer.from_config(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # non-Unix event loops
                loop.add_signal_handler(sig, stop.set)
        url = await server.start(config.host, config.port)
        # The candles and precomputed views live for the whole run: keep them out of GC passes.
        gc.collect()
        gc.freeze()
        on_ready(url)
        try:
            await stop.wait()
        finally:
            await server.close()

    with asyncio.Runner(loop_factory=_new_event_loop) as runner:
        runner.run(main())
