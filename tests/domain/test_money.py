from decimal import Decimal

import pytest

from bastion.domain import Money, Price, Qty, to_decimal
from bastion.errors import ValidationError


def test_price_refuses_float_and_names_it():
    with pytest.raises(ValidationError, match=r"price must be a decimal string.*0\.1"):
        Price(0.1)


def test_price_refuses_negative_and_non_finite():
    with pytest.raises(ValidationError, match="must not be negative"):
        Price("-1")
    with pytest.raises(ValidationError, match="finite"):
        Qty("NaN")
    with pytest.raises(ValidationError, match="decimal number"):
        Qty("ten")


def test_price_and_qty_are_exact_decimals():
    assert Price("0.1") + Price("0.2") == Decimal("0.3")
    assert repr(Qty("1.50")) == "Qty('1.50')"


def test_money_refuses_mixing_currencies():
    with pytest.raises(ValidationError, match="cannot combine USDT with BTC"):
        Money(Decimal(1), "USDT") + Money(Decimal(1), "BTC")


def test_money_arithmetic_stays_exact():
    total = Money(Decimal("0.1"), "USDT") + Money(Decimal("0.2"), "USDT")
    assert total == Money(Decimal("0.3"), "USDT")
    assert str(total * 3) == "0.9 USDT"
    assert Money.zero("BTC") <= Money(Decimal("0.00000001"), "BTC")


def test_to_decimal_accepts_int_str_decimal():
    assert to_decimal(3) == Decimal(3)
    assert to_decimal(" 1e-8 ") == Decimal("0.00000001")
    with pytest.raises(ValidationError):
        to_decimal(True)
