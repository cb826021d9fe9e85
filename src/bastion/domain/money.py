"""Decimal money types: ``Price``, ``Qty`` and ``Money``.

Floats never enter here: a float is refused with an error, because ``Decimal(0.1)`` is
``0.1000000000000000055511151231257827...`` and that is how rounding bugs start.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bastion.errors import ValidationError

__all__ = ["Money", "Price", "Qty", "to_decimal"]

DecimalLike = Decimal | int | str


def to_decimal(value: object, *, what: str = "value") -> Decimal:
    """Convert an int, str or Decimal to a finite Decimal; refuse floats and garbage.

    Parameters
    ----------
    value
        The value to convert.
    what
        Its name, used in the error message.
    """
    if type(value) is Decimal and value.is_finite():  # the common case, checked first
        return value
    if isinstance(value, Decimal) and value.is_finite():  # Price, Qty: already checked Decimals
        return value
    if isinstance(value, (bool, float)):
        raise ValidationError(
            f"{what} must be a decimal string, int or Decimal, got float/bool {value!r}; "
            f"pass it as a string such as '{value}'"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{what} must be a decimal number, got {value!r}") from None
    else:
        raise ValidationError(f"{what} must be a decimal string, int or Decimal, got {type(value).__name__}")
    if not result.is_finite():
        raise ValidationError(f"{what} must be finite, got {value!r}")
    return result


class _NonNegativeDecimal(Decimal):
    _what = "value"

    def __new__(cls, value: object = "0") -> _NonNegativeDecimal:
        dec = value if type(value) is Decimal and value.is_finite() else to_decimal(value, what=cls._what)
        if dec < 0:
            raise ValidationError(f"{cls._what} must not be negative, got {dec}")
        return super().__new__(cls, dec)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"


class Price(_NonNegativeDecimal):
    """A price in the quote currency: a non-negative, finite Decimal."""

    _what = "price"


class Qty(_NonNegativeDecimal):
    """An amount of the base currency: a non-negative, finite Decimal."""

    _what = "amount"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency. Adding or comparing two currencies is an error."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount, what="money amount"))
        if not self.currency or not self.currency.isupper():
            raise ValidationError(f"currency must be an upper-case code such as 'USDT', got {self.currency!r}")

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValidationError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: DecimalLike) -> Money:
        return Money(self.amount * to_decimal(factor, what="factor"), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero of ``currency``."""
        return cls(Decimal(0), currency)
