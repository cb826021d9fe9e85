"""Binance number formatting and fast JSON encoding.

Binance sends every price and quantity as a string with eight decimals (``"0.01000000"``);
a market whose tick or step is finer than 1e-8 gets as many decimals as its rules need.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

__all__ = ["EIGHT_DP", "dumps", "fmt", "places", "q8"]

#: Binance's asset precision: eight decimals.
EIGHT_DP = Decimal("0.00000001")
_ZERO = Decimal(0)


def q8(value: Decimal) -> Decimal:
    """Round ``value`` to eight decimals, half to even (Binance's asset precision)."""
    return value.quantize(EIGHT_DP, rounding=ROUND_HALF_EVEN)


def places(*increments: Decimal) -> int:
    """Return the number of decimals to print for numbers on these increments (at least 8)."""
    needed = 8
    for inc in increments:
        exponent = inc.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > needed:
            needed = -exponent
    return needed


def fmt(value: Decimal, decimals: int = 8) -> str:
    """Format ``value`` as Binance does: fixed decimals, no exponent, ``"0.00000000"`` for zero."""
    if decimals == 8:
        return f"{value:.8f}"
    return f"{value:.{decimals}f}"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def _build_dumps() -> Callable[[Any], bytes]:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is in the lock file
        import json

        def dumps_std(obj: Any) -> bytes:
            return json.dumps(obj, separators=(",", ":"), default=_json_default).encode()

        return dumps_std

    def dumps_orjson(obj: Any) -> bytes:
        return orjson.dumps(obj, default=_json_default)

    return dumps_orjson


#: Encode a JSON-able object to compact UTF-8 bytes (orjson when importable).
dumps = _build_dumps()
