"""Column types that keep money exact and time zone-aware on SQLite and PostgreSQL.

SQLAlchemy's ``Numeric`` on SQLite stores REAL and converts through float, which turns
``0.1`` into ``0.1000000000000000055511151231257827``. :class:`DecimalText` stores a
canonical decimal string on SQLite (a TEXT column, so SQLite's type affinity never
converts it to a number) and an unconstrained ``NUMERIC`` on PostgreSQL. Floats are
refused on the way in.

Comparisons and ``ORDER BY`` on a :class:`DecimalText` column compare strings on SQLite:
filter and sort money in Python, or on integer columns such as ``ts_ms``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DontWrapMixin
from sqlalchemy.types import TypeDecorator, TypeEngine

from bastion.domain.money import to_decimal
from bastion.errors import StorageError, ValidationError

__all__ = ["BigId", "ColumnValueError", "DecimalText", "UtcDateTime", "canonical_decimal_text"]

#: Primary key type: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ColumnValueError(ValidationError, DontWrapMixin):
    """A value that a column refuses (a float for money, a naive datetime).

    Raised as is from ``Session.flush()``/``execute()``, not wrapped in SQLAlchemy's
    ``StatementError``.
    """


def canonical_decimal_text(value: Decimal) -> str:
    """Return the text SQLite stores for ``value``: fixed-point, no exponent, no negative zero.

    This is also what PostgreSQL's NUMERIC gives back: the scale is kept (``1.10`` stays
    ``1.10``) and a positive exponent is written out (``1E+3`` becomes ``1000``).
    """
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal: canonical TEXT on SQLite, unconstrained NUMERIC on PostgreSQL.

    Accepts ``Decimal``, ``int`` and decimal strings; refuses ``float``, ``bool``, NaN and
    infinities with :class:`ColumnValueError`. Always returns ``Decimal``.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.NUMERIC())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            dec = to_decimal(value, what="decimal column value")
        except ValidationError as exc:
            raise ColumnValueError(str(exc)) from None
        if dialect.name == "postgresql":
            return dec
        return canonical_decimal_text(dec)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            return Decimal(value)
        raise StorageError(
            f"decimal column holds {type(value).__name__} {value!r}, expected a decimal string; "
            "the row was written around Bastion's storage layer"
        )


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always returned time zone-aware in UTC.

    Refuses naive datetimes (their zone is a guess). PostgreSQL stores
    ``TIMESTAMP WITH TIME ZONE``; SQLite stores the UTC wall time as text.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ColumnValueError(f"datetime column value must be a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ColumnValueError(
                f"datetime column value must be time zone-aware, got naive {value.isoformat()}; "
                "use datetime.now(UTC) or attach tzinfo=UTC"
            )
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
