"""Reading bot config values: parsed TOML in, validated Decimals, ints and strings out.

One module for every bot package (DCA, grid, SmartTrade, signal). Every failure is a
:class:`~bastion.errors.ConfigError` naming the field, the value given and what was expected.
Decimal fields take strings, integers, Decimals or TOML floats (a float is read through its
shortest repr, which is what the user wrote); never booleans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from bastion.domain import Market
from bastion.domain.money import to_decimal
from bastion.errors import ConfigError, MarketRuleError, ValidationError

_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PAIR_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}/[A-Z0-9][A-Z0-9._-]{0,31}")


def check_keys(data: object, known: Iterable[str], where: str) -> Mapping[str, Any]:
    """Return ``data`` if it is a mapping with only ``known`` keys; name the unknown ones otherwise."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table (mapping), got {data!r} ({type(data).__name__})")
    valid = tuple(known)
    unknown = sorted(str(key) for key in data if key not in valid)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise ConfigError(f"unknown field {names} in {where}; valid fields: {', '.join(valid)}")
    return data


def require(data: Mapping[str, Any], required: Iterable[str], where: str) -> None:
    """Raise ConfigError naming every required key missing from ``data``."""
    missing = [key for key in required if key not in data]
    if missing:
        raise ConfigError(f"{where} is missing required field(s) {', '.join(missing)}")


def decimal(value: object, field: str) -> Decimal:
    """Return ``value`` (str, int, Decimal or TOML float) as a finite Decimal; refuse bools."""
    if isinstance(value, bool):
        raise ConfigError(f"{field} must be a decimal number, got bool {value!r}")
    if isinstance(value, float):
        value = repr(value)
    try:
        return to_decimal(value, what=field)
    except ValidationError as exc:
        raise ConfigError(str(exc)) from None


def decimal_in(
    value: object,
    field: str,
    *,
    above: Decimal | None = None,
    at_least: Decimal | None = None,
    below: Decimal | None = None,
) -> Decimal:
    """Return ``value`` as a Decimal within the bounds given (the message states the range)."""
    result = decimal(value, field)
    if above is not None and result <= above:
        raise ConfigError(f"{field} must be greater than {above}, got {value!r}{_range(above, at_least, below)}")
    if at_least is not None and result < at_least:
        raise ConfigError(f"{field} must be at least {at_least}, got {value!r}{_range(above, at_least, below)}")
    if below is not None and result >= below:
        raise ConfigError(f"{field} must be less than {below}, got {value!r}{_range(above, at_least, below)}")
    return result


def _range(above: Decimal | None, at_least: Decimal | None, below: Decimal | None) -> str:
    low = f"({above}" if above is not None else f"[{at_least}" if at_least is not None else "(-inf"
    high = f"{below})" if below is not None else "inf)"
    return f" (expected a value in {low}, {high})"


def positive(value: object, field: str) -> Decimal:
    """Return ``value`` as a Decimal greater than zero."""
    result = decimal(value, field)
    if result <= 0:
        raise ConfigError(f"{field} must be greater than 0, got {value!r}")
    return result


def optional_positive(value: object, field: str) -> Decimal | None:
    """Return None for None, else ``value`` as a Decimal greater than zero."""
    return None if value is None else positive(value, field)


def percent(value: object, field: str, *, maximum: Decimal, inclusive: bool) -> Decimal:
    """Return ``value`` as a percentage in (0, maximum] (or (0, maximum) when not inclusive)."""
    result = decimal(value, field)
    above = result > maximum if inclusive else result >= maximum
    if result <= 0 or above:
        bracket = "]" if inclusive else ")"
        raise ConfigError(f"{field} must be a percentage in (0, {maximum}{bracket}, got {value!r}")
    return result


def integer(value: object, field: str, *, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{field} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        expected = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{field} must be {expected}, got {value}")
    return value


def boolean(value: object, field: str) -> bool:
    """Return ``value`` if it is a bool."""
    if not isinstance(value, bool):
        raise ConfigError(f"{field} must be true or false, got {value!r} ({type(value).__name__})")
    return value


def choice(value: object, field: str, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``."""
    allowed = tuple(options)
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{field} must be one of {', '.join(repr(o) for o in allowed)}, got {value!r}")
    return value


def _items(value: object, field: str, example: str) -> list[object]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(f"{field} must be a non-empty list such as {example}, got {value!r}")
    items = list(value)
    if not items:
        raise ConfigError(f"{field} must be a non-empty list such as {example}, got an empty list")
    return items


def choices(value: object, field: str, options: Iterable[str]) -> tuple[str, ...]:
    """Return ``value`` if it is a non-empty list of distinct ``options``."""
    allowed = tuple(options)
    result: list[str] = []
    for item in _items(value, field, repr(list(allowed))):
        choice(item, f"{field} item", allowed)
        if item in result:
            raise ConfigError(f"{field}: {item!r} is listed twice")
        result.append(str(item))
    return tuple(result)


def text(value: object, field: str, *, pattern: re.Pattern[str] | None = None, expected: str = "") -> str:
    """Return ``value`` if it is a non-empty string (matching ``pattern`` when given)."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{field} must be a non-empty string, got {value!r}")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise ConfigError(f"{field} must be {expected}, got {value!r}")
    return value


def name(value: object, field: str) -> str:
    """Return ``value`` if it is 1-64 characters of letters, digits, '_', '.' or '-'."""
    if not isinstance(value, str) or _NAME_RE.fullmatch(value) is None:
        raise ConfigError(f"{field} must be 1-64 characters of A-Z, a-z, 0-9, '_', '.' or '-', got {value!r}")
    return value


def pair(value: object, field: str = "pair") -> str:
    """Return ``value`` if it is an upper-case spot symbol such as ``'BTC/USDT'``."""
    if not isinstance(value, str) or _PAIR_RE.fullmatch(value) is None:
        raise ConfigError(f"{field} must be an upper-case spot symbol 'BASE/QUOTE' such as 'BTC/USDT', got {value!r}")
    return value


def symbols(value: object, field: str) -> tuple[str, ...]:
    """Return ``value`` if it is a non-empty list of distinct spot symbols."""
    result: list[str] = []
    for item in _items(value, field, "['BTC/USDT']"):
        if not isinstance(item, str) or _PAIR_RE.fullmatch(item) is None:
            raise ConfigError(f"{field}: {item!r} is not an upper-case spot symbol 'BASE/QUOTE' such as 'BTC/USDT'")
        if item in result:
            raise ConfigError(f"{field}: {item!r} is listed twice")
        result.append(item)
    return tuple(result)


def market_for(markets: Mapping[str, Market], symbol: str) -> Market:
    """Return the rules of ``symbol`` or raise ConfigError naming the markets known."""
    market = markets.get(symbol)
    if market is None:
        known = ", ".join(sorted(markets)) or "none"
        raise ConfigError(f"pair {symbol!r} has no market rules; markets known: {known}")
    return market


def check_order(market: Market, price: Decimal, amount: Decimal, what: str) -> None:
    """Raise ConfigError (saying which order) if ``amount`` at ``price`` breaks the market's rules."""
    try:
        market.check_order(price, amount)
    except MarketRuleError as exc:
        raise ConfigError(f"{what}: {exc}") from None
