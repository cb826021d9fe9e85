"""Reading signal bot config values: parsed TOML in, checked Decimals, ints and strings out.

Every failure is a :class:`~bastion.errors.ConfigError` naming the field, the value given and
what was expected. (The DCA and grid bots keep the same small helpers in their own packages.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bastion.errors import ConfigError

_SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}/[A-Z0-9][A-Z0-9._-]{0,31}")


def decimal(value: object, name: str, *, above: Decimal | None = None, below: Decimal | None = None) -> Decimal:
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
            raise ConfigError(f"{name} must be a decimal number such as '25' or '0.5', got {value!r}") from None
    if not result.is_finite():
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if above is not None and result <= above:
        raise ConfigError(f"{name} must be greater than {above}, got {value!r}")
    if below is not None and result >= below:
        raise ConfigError(f"{name} must be less than {below}, got {value!r}")
    return result


def integer(value: object, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        expected = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{name} must be {expected}, got {value}")
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


def _items(value: object, name: str, example: str) -> list[object]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ConfigError(f"{name} must be a non-empty list such as {example}, got {value!r}")
    items = list(value)
    if not items:
        raise ConfigError(f"{name} must be a non-empty list such as {example}, got an empty list")
    return items


def symbols(value: object, name: str) -> tuple[str, ...]:
    result: list[str] = []
    for pair in _items(value, name, "['BTC/USDT']"):
        if not isinstance(pair, str) or _SYMBOL_RE.fullmatch(pair) is None:
            raise ConfigError(f"{name}: {pair!r} is not an upper-case spot symbol 'BASE/QUOTE' such as 'BTC/USDT'")
        if pair in result:
            raise ConfigError(f"{name}: {pair!r} is listed twice")
        result.append(pair)
    return tuple(result)


def choices(value: object, name: str, options: Iterable[str]) -> tuple[str, ...]:
    allowed = tuple(options)
    result: list[str] = []
    for item in _items(value, name, repr(list(allowed))):
        choice(item, f"{name} item", allowed)
        if item in result:
            raise ConfigError(f"{name}: {item!r} is listed twice")
        result.append(str(item))
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
