"""DecimalText and UtcDateTime keep values exact on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select

from bastion.storage.db import create_engine_for
from bastion.storage.types import ColumnValueError, DecimalText, UtcDateTime, canonical_decimal_text

metadata = MetaData()
values = Table(
    "typed_values",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", DecimalText()),
    Column("at", UtcDateTime()),
)


@pytest.fixture
def table_engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_for(db_url)
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _round_trip(engine: Engine, value: object) -> Decimal:
    with engine.begin() as conn:
        new_id = conn.execute(insert(values).values(amount=value).returning(values.c.id)).scalar_one()
        return conn.execute(select(values.c.amount).where(values.c.id == new_id)).scalar_one()


EXACT = [
    Decimal("0.1") + Decimal("0.2"),
    Decimal("0.1"),
    Decimal("1E-18"),
    Decimal("12345678901234567890.123456789"),
    Decimal("-12345678901234567890.123456789"),
    Decimal("0.000000000000000000000000000001"),
    Decimal("1.10"),
    Decimal("100"),
]


@pytest.mark.parametrize("value", EXACT, ids=str)
def test_decimal_text_round_trips_exactly(table_engine: Engine, value: Decimal) -> None:
    back = _round_trip(table_engine, value)
    assert isinstance(back, Decimal)
    assert back == value
    assert back.as_tuple() == value.as_tuple()  # digits and exponent, not just the value


def test_point_one_plus_point_two_is_stored_as_point_three(table_engine: Engine) -> None:
    assert str(_round_trip(table_engine, Decimal("0.1") + Decimal("0.2"))) == "0.3"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("1E+3"), "1000"), (Decimal("-0.00"), "0.00"), (7, "7"), ("0.50", "0.50")],
)
def test_decimal_text_gives_the_same_canonical_value_on_both_backends(
    table_engine: Engine, value: object, expected: str
) -> None:
    back = _round_trip(table_engine, value)
    assert back.as_tuple() == Decimal(expected).as_tuple()


def test_decimal_text_is_a_text_column_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'types.db'}")
    metadata.create_all(engine)
    _round_trip(engine, Decimal("0.1"))
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT typeof(amount), amount FROM typed_values").one()
    engine.dispose()
    assert tuple(row) == ("text", "0.1")


@pytest.mark.parametrize("bad", [0.1, 1e-18, True, Decimal("NaN"), Decimal("Infinity"), "abc", object()])
def test_decimal_text_refuses_floats_and_non_numbers(table_engine: Engine, bad: object) -> None:
    with pytest.raises(ColumnValueError, match="decimal column value"), table_engine.begin() as conn:
        conn.execute(insert(values).values(amount=bad))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_any_finite_decimal_round_trips(table_engine: Engine, value: Decimal) -> None:
    back = _round_trip(table_engine, value)
    assert back == value
    assert back.as_tuple() == Decimal(canonical_decimal_text(value)).as_tuple()


def test_utc_datetime_returns_the_same_instant_in_utc(table_engine: Engine) -> None:
    at = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with table_engine.begin() as conn:
        conn.execute(insert(values).values(at=at))
        back = conn.execute(select(values.c.at)).scalar_one()
    assert back == at
    assert back.tzinfo is UTC
    assert back.hour == 10


def test_utc_datetime_refuses_naive_datetimes(table_engine: Engine) -> None:
    naive = datetime(2024, 3, 1, 12, 30)  # noqa: DTZ001 (the point of the test)
    with pytest.raises(ColumnValueError, match="time zone-aware"), table_engine.begin() as conn:
        conn.execute(insert(values).values(at=naive))
