"""Market rules per symbol (tick, lot step, limits, min notional) and the Binance filters.

Rules come from the recorded prices unless overridden on the ``--market`` option::

    BTC/USDT=path.csv
    BTC/USDT=path.csv;tick=0.01;step=0.00001;min_notional=5
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bastion.errors import ConfigError
from bastion.exchanges.simulator.apierrors import filter_failure
from bastion.exchanges.simulator.candles import CandleSeries

__all__ = [
    "DEFAULT_MIN_NOTIONAL",
    "OVERRIDE_KEYS",
    "MarketRules",
    "MarketSpec",
    "apply_overrides",
    "default_rules",
    "parse_market_option",
    "rules_from_prices",
]

#: Minimum order value by quote asset when not overridden.
DEFAULT_MIN_NOTIONAL: dict[str, Decimal] = {
    "USDT": Decimal(5),
    "USDC": Decimal(5),
    "FDUSD": Decimal(5),
    "BUSD": Decimal(5),
    "TUSD": Decimal(5),
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.001"),
    "BNB": Decimal("0.01"),
}
#: ``--market`` override keys and the MarketRules field each sets.
OVERRIDE_KEYS: dict[str, str] = {
    "tick": "tick_size",
    "step": "step_size",
    "min_qty": "min_qty",
    "max_qty": "max_qty",
    "min_price": "min_price",
    "max_price": "max_price",
    "min_notional": "min_notional",
    "max_notional": "max_notional",
}
_SYMBOL = re.compile(r"^([A-Z0-9]{2,12})/([A-Z0-9]{2,12})$")


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketRules:
    """One spot market's trading rules, as exchangeInfo reports them."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal
    max_price: Decimal
    min_notional: Decimal
    max_notional: Decimal
    symbol_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol_id", self.base + self.quote)
        for name in ("tick_size", "step_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{self.symbol}: {name} must be positive, got {getattr(self, name)}")
        if self.min_qty > self.max_qty or self.min_price > self.max_price:
            raise ConfigError(
                f"{self.symbol}: expected min <= max, got qty {self.min_qty}..{self.max_qty}, "
                f"price {self.min_price}..{self.max_price}"
            )

    def check_price(self, price: Decimal) -> None:
        """Raise -1013 ``Filter failure: PRICE_FILTER`` unless ``price`` is on the tick grid and in range."""
        if price < self.min_price or price > self.max_price or price % self.tick_size != 0:
            raise filter_failure("PRICE_FILTER")

    def check_qty(self, qty: Decimal) -> None:
        """Raise -1013 ``Filter failure: LOT_SIZE`` unless ``qty`` is on the step grid and in range."""
        if qty < self.min_qty or qty > self.max_qty or qty % self.step_size != 0:
            raise filter_failure("LOT_SIZE")

    def check_notional(self, notional: Decimal) -> None:
        """Raise -1013 ``Filter failure: NOTIONAL`` unless ``notional`` is within the limits."""
        if notional < self.min_notional or notional > self.max_notional:
            raise filter_failure("NOTIONAL")

    def floor_qty(self, qty: Decimal) -> Decimal:
        """Return ``qty`` floored to the step grid."""
        return (qty // self.step_size) * self.step_size

    def floor_price(self, price: Decimal) -> Decimal:
        """Return ``price`` floored to the tick grid."""
        return (price // self.tick_size) * self.tick_size

    def ceil_price(self, price: Decimal) -> Decimal:
        """Return ``price`` raised to the tick grid."""
        return -((-price) // self.tick_size) * self.tick_size


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSpec:
    """A ``--market`` option: symbol, candle file and rule overrides."""

    symbol: str
    path: Path | Traversable
    overrides: dict[str, Decimal] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """Return the base asset."""
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        """Return the quote asset."""
        return self.symbol.split("/")[1]


def _pow10(exponent: int) -> Decimal:
    return Decimal(1).scaleb(exponent)


def _log10_floor(value: Decimal) -> int:
    return int(value.log10().to_integral_value(rounding=ROUND_FLOOR))


def default_rules(symbol: str, candles: CandleSeries) -> MarketRules:
    """Derive rules from the recorded prices.

    The tick is the smallest decimal increment seen; the lot step is the power of ten that makes
    one step worth about a tenth of the minimum notional at the median close (0.00001 for
    BTC/USDT near 17,000, 0.0001 for ETH/BTC near 0.1), as on Binance.
    """
    closes = sorted(c.close for c in candles.candles)
    return rules_from_prices(symbol, median=closes[len(closes) // 2], highest=closes[-1], tick=candles.price_increment)


def rules_from_prices(symbol: str, *, median: Decimal, highest: Decimal, tick: Decimal) -> MarketRules:
    """The rules :func:`default_rules` derives, from the median and highest close and the tick.

    The median is the upper middle close (``sorted(closes)[len // 2]``).
    """
    match = _SYMBOL.match(symbol)
    if match is None:
        raise ConfigError(f"market symbol must look like BASE/QUOTE such as 'BTC/USDT', got {symbol!r}")
    base, quote = match.groups()
    if median <= 0:
        raise ConfigError(f"{symbol}: the median close is {median}; expected positive prices")
    min_notional = DEFAULT_MIN_NOTIONAL.get(quote, Decimal(0))
    reference = min_notional if min_notional > 0 else Decimal(1)
    step = _pow10(min(0, _log10_floor(reference / median) - 1))
    max_price = _pow10(max(_log10_floor(highest) + 3, 3))
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=tick,
        step_size=step,
        min_qty=step,
        max_qty=Decimal(9_000_000),
        min_price=tick,
        max_price=max_price,
        min_notional=min_notional,
        max_notional=Decimal(9_000_000) if min_notional >= 1 else Decimal(100_000),
    )


def apply_overrides(rules: MarketRules, overrides: dict[str, Decimal]) -> MarketRules:
    """Return ``rules`` with ``overrides`` (keys of OVERRIDE_KEYS) applied."""
    changes: dict[str, Any] = {OVERRIDE_KEYS[k]: v for k, v in overrides.items()}
    if "step_size" in changes and "min_qty" not in changes:
        changes["min_qty"] = changes["step_size"]
    if "tick_size" in changes and "min_price" not in changes:
        changes["min_price"] = changes["tick_size"]
    return replace(rules, **changes)


def parse_market_option(option: str) -> MarketSpec:
    """Parse ``SYMBOL=PATH.csv[;key=value...]``.

    Raises
    ------
    ConfigError
        The option does not have that shape, names an unknown key or a value that is not a
        positive decimal.
    """
    expected = "expected SYMBOL=PATH.csv[;tick=0.01;step=0.00001;min_notional=5], such as BTC/USDT=btc.csv"
    head, *extras = option.split(";")
    symbol, sep, path = head.partition("=")
    symbol = symbol.strip().upper()
    if not sep or not path.strip():
        raise ConfigError(f"--market {option!r}: {expected}")
    if _SYMBOL.match(symbol) is None:
        raise ConfigError(f"--market {option!r}: symbol must look like BASE/QUOTE such as 'BTC/USDT'")
    overrides: dict[str, Decimal] = {}
    for extra in extras:
        if not extra.strip():
            continue
        key, sep, value = extra.partition("=")
        key = key.strip().lower()
        if key not in OVERRIDE_KEYS:
            raise ConfigError(f"--market {option!r}: unknown rule {key!r}; expected one of {', '.join(OVERRIDE_KEYS)}")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = Decimal(-1)
        if not sep or not number.is_finite() or number < 0 or (number == 0 and key not in ("min_notional",)):
            raise ConfigError(f"--market {option!r}: {key} must be a positive decimal such as 0.01, got {value!r}")
        overrides[key] = number
    return MarketSpec(symbol=symbol, path=Path(path.strip()), overrides=overrides)
