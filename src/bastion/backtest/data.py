"""A backtest's markets: candle columns, the rules the simulator would derive, and lazy Decimal candles.

``--data PAIR=PATH[;tick=..;step=..;min_notional=..]`` has the syntax and defaults of
``bastion exchange serve --market``: the rules come from the whole file as the simulator derives
them (tick = the smallest price increment, lot step from the median close, minimum notional by
quote asset), then the overrides. ``--start``/``--end`` cut the candles after that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bastion.domain import Market
from bastion.errors import BastionError, ConfigError
from bastion.exchanges.simulator.candles import Candle
from bastion.exchanges.simulator.rules import MarketRules, apply_overrides, parse_market_option, rules_from_prices

if TYPE_CHECKING:
    from bastion.services.candle_files import CandleArrays

__all__ = ["ArrayCandles", "MarketData", "load_market", "market_of", "same_timeline", "to_decimal"]


def to_decimal(value: float) -> Decimal:
    """The Decimal of a float's shortest text (``16727.3`` -> ``Decimal('16727.3')``), as the loader does."""
    text = repr(float(value))
    if "e" in text or "n" in text:  # 1e-05, inf, nan
        return _strip(Decimal(text))
    if text.endswith(".0") and text.lstrip("-") != "0.0":
        return Decimal(text[:-2])  # the only trailing zero a float's repr has
    return Decimal(text)


def _strip(number: Decimal) -> Decimal:
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return number
    while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return Decimal((sign, digits, exponent))


class ArrayCandles:
    """Candles read as float columns, turned into Decimal :class:`Candle` one at a time when asked.

    It is what the simulator's matching engine reads (``len``, ``[i]``, ``timeframe_ms``), so the
    backtest drives the same engine without building 525,600 Decimal candles.
    """

    def __init__(self, arrays: CandleArrays, timeframe_ms: int) -> None:
        self.arrays = arrays
        self._timeframe_ms = timeframe_ms
        self._cache: dict[int, Candle] = {}

    @property
    def timeframe_ms(self) -> int:
        """Candle length in milliseconds."""
        return self._timeframe_ms

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, index: int) -> Candle:
        candle = self._cache.get(index)
        if candle is None:
            if len(self._cache) > 64:
                self._cache.clear()
            ts, o, h, low, c, v = self.arrays.decimals(index)
            candle = Candle(ts, o, h, low, c, v if v is not None else Decimal(0))
            self._cache[index] = candle
        return candle


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketData:
    """One ``--data`` market: its rules, and its candles between ``--start`` and ``--end``."""

    symbol: str
    path: Path
    rules: MarketRules
    arrays: CandleArrays
    timeframe_ms: int

    @property
    def market(self) -> Market:
        """The rules as a bot sees them (what ccxt reads from the simulator's exchangeInfo)."""
        return market_of(self.rules)


def market_of(rules: MarketRules, fee: Decimal = Decimal("0.001")) -> Market:
    """The domain :class:`Market` of simulator rules."""
    return Market(
        symbol=rules.symbol,
        base=rules.base,
        quote=rules.quote,
        tick_size=rules.tick_size,
        lot_step=rules.step_size,
        min_amount=rules.min_qty,
        max_amount=rules.max_qty,
        min_price=rules.min_price,
        max_price=rules.max_price,
        min_notional=rules.min_notional,
        max_notional=rules.max_notional,
        maker_fee=fee,
        taker_fee=fee,
    )


def load_market(option: str, *, start_ms: int | None = None, end_ms: int | None = None) -> MarketData:
    """Read one ``PAIR=PATH[;key=value...]`` option: candles, rules from the whole file, then the cut.

    Raises
    ------
    ConfigError
        A malformed option (the message shows the expected shape), a file that cannot be read,
        or no candle left between ``start_ms`` and ``end_ms``.
    """
    import numpy as np

    from bastion.services.candle_files import read_candle_arrays

    try:
        spec = parse_market_option(option)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--market", "--data", 1)) from None
    path = Path(str(spec.path))
    try:
        arrays = read_candle_arrays(path)
    except BastionError as exc:
        raise ConfigError(f"--data {option!r}: {exc}") from None
    if len(arrays) < 2:
        raise ConfigError(f"--data {option!r}: {path.name} has {len(arrays)} candle(s); expected at least two")
    middle = len(arrays.close) // 2
    rules = rules_from_prices(
        spec.symbol,
        median=to_decimal(np.partition(arrays.close, middle)[middle]),  # sorted(closes)[len // 2]
        highest=to_decimal(arrays.close.max()),
        tick=arrays.price_increment(),
    )
    rules = apply_overrides(rules, spec.overrides)
    timeframe_ms = int(arrays.timeframe_ms or int(np.min(np.diff(arrays.ts))))
    first = 0 if start_ms is None else int(np.searchsorted(arrays.ts, start_ms, "left"))
    last = len(arrays) if end_ms is None else int(np.searchsorted(arrays.ts, end_ms, "left"))
    if last - first < 2:
        raise ConfigError(
            f"--data {option!r}: fewer than two candles between --start and --end in {path.name}; "
            "expected a range inside the file's candles"
        )
    if first or last < len(arrays):
        arrays = arrays.take(slice(first, last))
    return MarketData(symbol=spec.symbol, path=path, rules=rules, arrays=arrays, timeframe_ms=timeframe_ms)


def same_timeline(markets: Sequence[MarketData]) -> None:
    """Refuse markets whose candles are not at the same times (a backtest walks one clock)."""
    import numpy as np

    first = markets[0]
    for other in markets[1:]:
        if other.timeframe_ms != first.timeframe_ms or not np.array_equal(other.arrays.ts, first.arrays.ts):
            raise ConfigError(
                f"--data {other.symbol} and {first.symbol} do not cover the same candles; expected files of the "
                "same timeframe over the same times (cut them with --start/--end)"
            )
