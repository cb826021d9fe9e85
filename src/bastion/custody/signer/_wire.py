"""The signer RPC's wire codec: JSON objects to and from Bastion's typed records.

Driven by the records' type hints: ``Decimal`` travels as a plain decimal string (a float is
refused), enums as their values, ``Literal`` values checked, tuples as lists, nested records as
objects. A request refuses unknown and missing fields (:class:`~bastion.errors.SignerBadRequest`,
naming them); an answer ignores unknown fields (a newer signer may add some) and raises
:class:`AnswerError` otherwise. A secret field (``repr=False``) is never quoted in an error.
Public names are re-exported by :mod:`bastion.custody.signer.rpc`.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from bastion.custody.policy import PolicyConfig
from bastion.errors import BastionError, ConfigError, SignerBadRequest, ValidationError
from bastion.exchanges.port import Balance, OrderSnapshot, Trade

__all__ = [
    "AnswerError",
    "balances_from_wire",
    "balances_to_wire",
    "decode",
    "order_from_wire",
    "order_to_wire",
    "record",
    "to_wire",
    "trade_from_wire",
    "trade_to_wire",
]


class AnswerError(ValidationError):
    """An answer from the signer that is not the shape this client expects (a version mismatch)."""


def _bad(where: str, value: Any, expected: str, *, answer: bool) -> BastionError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    if answer:
        return AnswerError(f"the signer's answer has {where} = {shown}; expected {expected}")
    return SignerBadRequest(f"parameter {where} must be {expected}, got {shown}")


def to_wire(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: Decimals as plain strings, enums as values, records as objects."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PolicyConfig):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, float):
        raise TypeError("a float cannot travel in a signer frame; use Decimal")
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def decode(hint: Any, value: Any, where: str, *, answer: bool) -> Any:
    """Return ``value`` (JSON data) as the type ``hint``; ``where`` names it in an error."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return decode(inner, value, where, answer=answer)
    if origin is Literal:
        if value not in get_args(hint):
            raise _bad(where, value, " or ".join(repr(a) for a in get_args(hint)), answer=answer)
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _bad(where, value, "a list", answer=answer)
        item = get_args(hint)[0]
        return tuple(decode(item, v, f"{where}[{i}]", answer=answer) for i, v in enumerate(value))
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise _bad(where, value, "an object with string keys", answer=answer)
        args = get_args(hint)
        inner = args[1] if args else Any
        return {k: decode(inner, v, f"{where}.{k}", answer=answer) for k, v in value.items()}
    if hint is Decimal:
        return _decimal(value, where, answer=answer)
    if hint is bool:
        if not isinstance(value, bool):
            raise _bad(where, value, "true or false", answer=answer)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad(where, value, "a non-negative integer", answer=answer)
        return value
    if hint is str:
        if not isinstance(value, str) or (not answer and not value):
            raise _bad(where, value, "a non-empty string" if not answer else "a string", answer=answer)
        return value
    if hint is PolicyConfig:
        if not isinstance(value, Mapping):
            raise _bad(where, value, "a policy object", answer=answer)
        try:
            return PolicyConfig.from_mapping(value)
        except ConfigError as exc:
            raise _bad(where, value, f"a valid policy ({exc})", answer=answer) from None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise _bad(where, value, " or ".join(repr(m.value) for m in hint), answer=answer) from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record(hint, value, where, answer=answer)
    raise TypeError(f"no wire codec for {hint!r} at {where}")  # a programming error in this module


def _decimal(value: Any, where: str, *, answer: bool) -> Decimal:
    expected = "a decimal string such as '0.001'"
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _bad(where, value, expected, answer=answer) from None
    else:
        raise _bad(where, value, expected, answer=answer)
    if not number.is_finite():
        raise _bad(where, value, "a finite " + expected[2:], answer=answer)
    return number


R = TypeVar("R")


def record(cls: type[R], data: Any, where: str, *, answer: bool) -> R:
    """Build the dataclass ``cls`` from a JSON object; a request refuses unknown fields, an answer ignores them."""
    if not isinstance(data, Mapping):
        raise _bad(where, data, f"an object ({cls.__name__})", answer=answer)
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown and not answer:
        raise SignerBadRequest(
            f"{where} does not take {', '.join(unknown)}; it takes {', '.join(names) or 'no parameters'}"
        )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = data.get(f.name)
        if value is None:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                hint = hints[f.name]
                if get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint):
                    kwargs[f.name] = None
                    continue
                if answer:
                    raise AnswerError(f"the signer's answer has no {where}.{f.name}")
                raise SignerBadRequest(f"{where} needs {f.name!r} ({_describe(hints[f.name])})")
            continue
        try:
            kwargs[f.name] = decode(hints[f.name], value, f"{where}.{f.name}" if answer else f.name, answer=answer)
        except (SignerBadRequest, AnswerError) as exc:
            if f.repr:
                raise
            # a secret field: say what was expected, never echo the value
            raise type(exc)(f"{'parameter ' if not answer else ''}{f.name} is malformed (value not shown)") from None
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        if answer:
            raise AnswerError(f"the signer's answer has an invalid {where}: {exc}") from None
        raise SignerBadRequest(str(exc)) from None


def _describe(hint: Any) -> str:
    if hint is Decimal:
        return "a decimal string"
    if hint is str:
        return "a non-empty string"
    if get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in get_args(hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return " or ".join(repr(m.value) for m in hint)
    return getattr(hint, "__name__", str(hint))


def order_to_wire(order: OrderSnapshot) -> dict[str, Any]:
    """Return an order snapshot as the signer sends it (decimals as strings)."""
    return cast(dict[str, Any], to_wire(order))


def order_from_wire(data: Any) -> OrderSnapshot:
    """Return the order snapshot in a signer answer."""
    return record(OrderSnapshot, data, "order", answer=True)


def trade_to_wire(trade: Trade) -> dict[str, Any]:
    """Return a trade as the signer sends it."""
    return cast(dict[str, Any], to_wire(trade))


def trade_from_wire(data: Any) -> Trade:
    """Return the trade in a signer answer."""
    return record(Trade, data, "trade", answer=True)


def balances_to_wire(balances: Mapping[str, Balance]) -> dict[str, Any]:
    """Return balances as ``{currency: {free, used, total}}``."""
    return {
        c: {"free": to_wire(b.free), "used": to_wire(b.used), "total": to_wire(b.total)} for c, b in balances.items()
    }


def balances_from_wire(data: Any) -> dict[str, Balance]:
    """Return the balances in a signer answer."""
    if not isinstance(data, Mapping):
        raise AnswerError(f"the signer's balances answer must be an object, got {type(data).__name__}")
    out = {}
    for currency, entry in data.items():
        if not isinstance(entry, Mapping):
            raise AnswerError(f"the signer's balance of {currency} must be an object, got {entry!r}")
        out[str(currency)] = Balance(
            str(currency),
            _decimal(entry.get("free"), f"balances.{currency}.free", answer=True),
            _decimal(entry.get("used"), f"balances.{currency}.used", answer=True),
        )
    return out
