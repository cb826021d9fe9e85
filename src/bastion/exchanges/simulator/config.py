"""What a simulator runs with, and building the venue from it (the only file reading here)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from bastion.errors import ConfigError
from bastion.exchanges.simulator.candles import CandleSeries, parse_candles_csv
from bastion.exchanges.simulator.keys import KeyEntry, account_balances
from bastion.exchanges.simulator.matching import Clock, FeeSchedule
from bastion.exchanges.simulator.rules import MarketSpec, apply_overrides, default_rules
from bastion.exchanges.simulator.venue import Venue

__all__ = [
    "BUNDLED_MARKETS",
    "DEFAULT_START",
    "FLAVORS",
    "SimulatorConfig",
    "build_venue",
    "bundled_market",
    "is_loopback_host",
]

#: Symbols with recorded data shipped in ``bastion/_data``.
BUNDLED_MARKETS = {"BTC/USDT": "BTC_USDT-5m.csv", "ETH/BTC": "ETH_BTC-5m.csv"}
#: The exchange APIs the simulator can speak (``--flavor``).
FLAVORS = ("binance", "kucoin")
#: Default index of the first current candle: enough history for klines and indicators.
DEFAULT_START = 200


def bundled_market(symbol: str = "BTC/USDT") -> MarketSpec:
    """Return the MarketSpec of bundled recorded data (``BTC/USDT`` or ``ETH/BTC``)."""
    name = BUNDLED_MARKETS.get(symbol)
    if name is None:
        raise ConfigError(f"no bundled data for {symbol!r}; expected one of {', '.join(BUNDLED_MARKETS)}")
    return MarketSpec(symbol=symbol, path=files("bastion").joinpath("_data", name))


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatorConfig:
    """Everything ``bastion exchange serve`` takes.

    Parameters
    ----------
    markets
        Symbols, candle files and rule overrides; empty means the bundled BTC/USDT data.
    keys
        The API keys (and through them, the accounts and their balances).
    speed
        Replayed candles per second; None replays in real time (one candle per its own
        timeframe), 0 holds the replay until the admin API advances it.
    start
        Index of the first current candle; None means ``DEFAULT_START`` capped to the data.
    maker_fee, taker_fee
        Fee rates (0.001 = 0.1 %).
    host, port
        Where to listen; port 0 picks a free port.
    allow_non_loopback
        Permit a host that is not loopback.
    flavor
        Which exchange's REST API to serve: ``binance`` or ``kucoin`` (whose keys need a passphrase).
    """

    markets: tuple[MarketSpec, ...] = ()
    keys: tuple[KeyEntry, ...] = ()
    speed: float | None = None
    start: int | None = None
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    host: str = "127.0.0.1"
    port: int = 0
    allow_non_loopback: bool = False
    flavor: str = "binance"
    fees: FeeSchedule = field(init=False)

    def __post_init__(self) -> None:
        if self.speed is not None and not (0 <= self.speed <= 1_000_000):
            raise ConfigError(f"--speed must be within 0..1000000 candles per second, got {self.speed}")
        if self.start is not None and self.start < 0:
            raise ConfigError(f"--start must be a candle index >= 0, got {self.start}")
        if not (0 <= self.port <= 65535):
            raise ConfigError(f"--port must be within 0..65535, got {self.port}")
        try:
            fees = FeeSchedule(maker=self.maker_fee, taker=self.taker_fee)
        except ValueError as exc:
            raise ConfigError(f"fees: {exc}") from None
        object.__setattr__(self, "fees", fees)
        if not self.allow_non_loopback and not is_loopback_host(self.host):
            raise ConfigError(
                f"--host {self.host!r} is not a loopback address; the simulator serves test keys and an "
                f"unauthenticated admin API, so it listens on 127.0.0.1, ::1 or localhost unless "
                f"--allow-non-loopback is given"
            )
        if self.flavor not in FLAVORS:
            raise ConfigError(f"--flavor must be one of {', '.join(FLAVORS)}, got {self.flavor!r}")
        if self.flavor == "kucoin":
            bare = [k.hint for k in self.keys if not k.passphrase]
            if bare:
                raise ConfigError(
                    f"--flavor kucoin: api key(s) {', '.join(bare)} have no passphrase; KuCoin keys need one "
                    f"(`bastion exchange keygen --flavor kucoin` writes it)"
                )
        symbols = [m.symbol for m in self.markets]
        if len(set(symbols)) != len(symbols):
            raise ConfigError(f"each --market symbol may be given once, got {', '.join(symbols)}")


def _load(spec: MarketSpec) -> CandleSeries:
    source: Path | Traversable = spec.path
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"--market {spec.symbol}: cannot read candle file {str(source)!r}: {exc.strerror or exc}"
        ) from None
    return parse_candles_csv(text, str(source))


def build_venue(config: SimulatorConfig, clock: Clock) -> Venue:
    """Load the candle files and build the venue with every account of the keys.

    Raises
    ------
    ConfigError
        A candle file cannot be read or parsed, or a rule override is inconsistent.
    """
    markets = []
    for spec in config.markets or (bundled_market(),):
        candles = _load(spec)
        rules = apply_overrides(default_rules(spec.symbol, candles), spec.overrides)
        start = DEFAULT_START if config.start is None else config.start
        markets.append((rules, candles, min(start, len(candles) - 1)))
    return Venue(markets, account_balances(list(config.keys)), clock=clock, fees=config.fees)
