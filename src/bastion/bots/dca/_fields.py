"""Coercion and checks for config values; every failure is a ConfigError naming field, value and expectation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bastion.errors import ConfigError

_SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}/[A-Z0-9][A-Z0-9._-]{0,31}")


def decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str, float)):
        raise ConfigError(f"{name} must be a decimal number (string, integer or float), got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    else:
        # A TOML float's repr is the shortest string that reads back as it: what the user wrote.
        written = repr(value) if isinstance(value, float) else value.strip()
        try:
            result = Decimal(written)
        except InvalidOperation:
            raise ConfigError(f"{name} must be a decimal number, got {value!r}") from None
    if not result.is_finite():
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return result


def decimal_in(
    value: object,
    name: str,
    *,
    above: Decimal | None = None,
    at_least: Decimal | None = None,
    below: Decimal | None = None,
) -> Decimal:
    result = decimal(value, name)
    if above is not None and result <= above:
        raise ConfigError(f"{name} must be greater than {above}, got {value!r}{_range(above, at_least, below)}")
    if at_least is not None and result < at_least:
        raise ConfigError(f"{name} must be at least {at_least}, got {value!r}{_range(above, at_least, below)}")
    if below is not None and result >= below:
        raise ConfigError(f"{name} must be less than {below}, got {value!r}{_range(above, at_least, below)}")
    return result


def _range(above: Decimal | None, at_least: Decimal | None, below: Decimal | None) -> str:
    low = f"({above}" if above is not None else f"[{at_least}" if at_least is not None else "(-inf"
    high = f"{below})" if below is not None else "inf)"
    return f" (expected a value in {low}, {high})"


def integer(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        expected = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{name} must be {expected}, got {value}")
    return value


def boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def choice(value: object, name: str, options: Iterable[str]) -> str:
    allowed = tuple(options)
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def text(value: object, name: str, *, pattern: re.Pattern[str] | None = None, expected: str = "") -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise ConfigError(f"{name} must be {expected}, got {value!r}")
    return value


def symbols(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"{name} must be a non-empty list of symbols such as ['BTC/USDT'], got {value!r}")
    result: list[str] = []
    for pair in value:
        if not isinstance(pair, str) or _SYMBOL_RE.fullmatch(pair) is None:
            raise ConfigError(f"{name}: {pair!r} is not an upper-case spot symbol 'BASE/QUOTE' such as 'BTC/USDT'")
        if pair in result:
            raise ConfigError(f"{name}: {pair!r} is listed twice")
        result.append(pair)
    if not result:
        raise ConfigError(f"{name} must name at least one symbol such as 'BTC/USDT', got an empty list")
    return tuple(result)


def table(data: object, known: Iterable[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table (mapping), got {data!r}")
    valid = tuple(known)
    unknown = [str(key) for key in data if key not in valid]
    if unknown:
        names = ", ".join(repr(key) for key in sorted(unknown))
        raise ConfigError(f"unknown field {names} in {where}; valid fields: {', '.join(valid)}")
    return data
