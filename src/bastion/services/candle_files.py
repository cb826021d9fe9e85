"""Candle files in, located rows out: freqtrade ``.feather``/``.json``/``.json.gz`` and Bastion CSV.

Each reader yields :class:`RawCandle` rows that carry where they came from (``line 7`` in a
CSV, ``row 6`` in JSON or feather), so that a bad row can be reported where the user finds it.
Values become Decimals without float arithmetic: CSV and JSON numbers from their text, feather
float64 values from their shortest repr (``repr(float)``); then trailing zeros are dropped, so
``16726.0`` (feather) and ``16726`` (CSV) are the same ``Decimal('16726')``.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bastion.errors import ValidationError

__all__ = ["CSV_HEADER", "FORMATS", "RawCandle", "RowProblems", "read_raw_candles", "utc_text"]

CSV_HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
FORMATS = ".feather, .json, .json.gz or .csv"

_MIN_TS_MS = 100_000_000_000  # 1973-03-03: anything smaller is a timestamp in seconds
_MAX_REPORTED = 5


@dataclass(frozen=True, slots=True)
class RawCandle:
    """One parsed row: where it is in the file, its open time, and open/high/low/close/volume.

    A value is None where the file had none (empty, NaN or null); checks come later.
    """

    where: str
    ts_ms: int
    values: tuple[Decimal | None, ...]


class RowProblems:
    """Problems found in a file's rows, reported together in one ValidationError."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, where: str, message: str) -> None:
        """Record that the row at ``where`` (``line 7``, ``row 6``) has a problem."""
        self.items.append((int(where.rpartition(" ")[2]), f"{where}: {message}"))

    def raise_if_any(self, path: Path) -> None:
        """Raise ValidationError naming the first few bad rows in file order, if there are any."""
        if not self.items:
            return
        first = [text for _, text in sorted(self.items)[:_MAX_REPORTED]]
        more = f"; and {len(self.items) - _MAX_REPORTED} more" if len(self.items) > _MAX_REPORTED else ""
        count = f"{len(self.items)} bad row{'s' if len(self.items) != 1 else ''}"
        raise ValidationError(f"{path.name}: {count}, nothing imported: {'; '.join(first)}{more}")


def utc_text(ts_ms: int) -> str:
    """Return epoch milliseconds as ``YYYY-MM-DD HH:MM`` in UTC."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ts_ms)).strftime("%Y-%m-%d %H:%M")


# --- values ---------------------------------------------------------------------------------


def _canonical(value: Decimal) -> Decimal:
    # Drop trailing fractional zeros and write out positive exponents, exactly (no context rounding):
    # 16726.0 (feather), 16726 (CSV) and 1.6726E+4 all become Decimal('16726').
    if value.is_zero():
        return Decimal(0)
    sign, digits, exponent = value.as_tuple()
    exponent = int(exponent)  # finite, checked by the caller
    kept = list(digits)
    while exponent < 0 and len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if exponent > 0:
        kept.extend([0] * exponent)
        exponent = 0
    return Decimal((sign, tuple(kept), exponent))


class _BadValue(Exception):
    pass


def _decimal(raw: Any) -> Decimal | None:
    """Return the Decimal of a CSV/JSON/feather value; None for a missing value (NaN, null, "")."""
    if raw is None:
        return None
    if isinstance(raw, float):
        if math.isnan(raw):
            return None
        raw = repr(raw)  # the shortest text that reads back as this float: the source's decimal
    elif isinstance(raw, str):
        raw = raw.strip()
        if raw == "" or raw.lower() == "nan":
            return None
    elif isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise _BadValue(f"{raw!r} is not a number")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _BadValue(f"{raw!r} is not a number") from None
    if value.is_nan():
        return None
    if not value.is_finite():
        raise _BadValue(f"{raw!r} is not a finite number")
    return _canonical(value)


def _timestamp(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _BadValue(f"timestamp {raw!r} is not an integer")
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw.isdigit():
            raise _BadValue(f"timestamp {raw!r} is not a whole number of milliseconds")
        raw = int(raw)
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        raw = int(raw)
    if not isinstance(raw, int):
        raise _BadValue(f"timestamp {raw!r} is not a whole number of milliseconds")
    if raw < _MIN_TS_MS:
        raise _BadValue(f"timestamp {raw} looks like seconds ({utc_text(raw * 1000)}); expected epoch milliseconds")
    return raw


def _row(where: str, ts: Any, values: Iterable[Any], problems: RowProblems) -> RawCandle | None:
    try:
        return RawCandle(where, _timestamp(ts), tuple(_decimal(v) for v in values))
    except _BadValue as exc:
        problems.add(where, str(exc))
        return None


# --- readers --------------------------------------------------------------------------------


def _read_csv(path: Path, problems: RowProblems) -> Iterator[RawCandle]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = tuple(h.strip() for h in next(reader, ()))
        if header != CSV_HEADER:
            raise ValidationError(f"{path.name}: CSV header is {','.join(header)!r}; expected {','.join(CSV_HEADER)!r}")
        for fields in reader:
            where = f"line {reader.line_num}"
            if not fields:
                continue
            if len(fields) != len(CSV_HEADER):
                problems.add(where, f"{len(fields)} fields, expected {len(CSV_HEADER)}")
                continue
            row = _row(where, fields[0], fields[1:], problems)
            if row is not None:
                yield row


def _read_json(path: Path, problems: RowProblems) -> Iterator[RawCandle]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle, parse_float=Decimal)
    except (OSError, EOFError, ValueError) as exc:
        raise ValidationError(f"{path.name}: not readable as JSON ({exc}); expected a freqtrade OHLCV file") from None
    if not isinstance(data, list):
        raise ValidationError(
            f"{path.name}: JSON holds a {type(data).__name__}; expected an array of [timestamp_ms, o, h, l, c, v]"
        )
    for index, item in enumerate(data, start=1):
        where = f"row {index}"
        if not isinstance(item, list) or len(item) != len(CSV_HEADER):
            problems.add(where, f"{item!r:.60} is not [timestamp_ms, open, high, low, close, volume]")
            continue
        row = _row(where, item[0], item[1:], problems)
        if row is not None:
            yield row


def _read_feather(path: Path, problems: RowProblems) -> Iterator[RawCandle]:
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import feather

    try:
        table = feather.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"{path.name}: not readable as a feather file ({exc})") from None
    wanted = ("date", "open", "high", "low", "close", "volume")
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise ValidationError(
            f"{path.name}: columns {table.column_names} lack {missing}; expected freqtrade's {list(wanted)}"
        )
    date = table.column("date")
    if not pa.types.is_timestamp(date.type):
        raise ValidationError(f"{path.name}: column 'date' is {date.type}; expected a timestamp (ns, UTC)")
    unit = date.type.unit
    multiply, divide = {"s": (1000, 1), "ms": (1, 1), "us": (1, 1_000), "ns": (1, 1_000_000)}[unit]
    stamps = pc.cast(date, pa.int64()).to_pylist()
    columns = [table.column(name).to_pylist() for name in wanted[1:]]
    for index, (ts, *values) in enumerate(zip(stamps, *columns, strict=True), start=1):
        where = f"row {index}"
        if ts is None or (ts * multiply) % divide:
            problems.add(where, f"date {ts} ({unit}) is missing or not a whole millisecond")
            continue
        row = _row(where, ts * multiply // divide, values, problems)
        if row is not None:
            yield row


_READERS: dict[str, Callable[[Path, RowProblems], Iterator[RawCandle]]] = {
    ".csv": _read_csv,
    ".json": _read_json,
    ".gz": _read_json,
    ".feather": _read_feather,
}


def read_raw_candles(path: Path, problems: RowProblems) -> list[RawCandle]:
    """Read every row of a candle file, sorted by time; record unreadable rows in ``problems``.

    Raises
    ------
    ValidationError
        The file is missing, of an unknown type, or unreadable as a whole (wrong CSV header,
        not JSON, not feather, missing columns).
    """
    if not path.is_file():
        raise ValidationError(f"{path} does not exist or is not a file; expected a {FORMATS} candle file")
    name = path.name.lower()
    reader = _READERS.get(path.suffix.lower())
    if reader is None or (name.endswith(".gz") and not name.endswith(".json.gz")):
        raise ValidationError(f"{path.name}: unknown candle file type; expected {FORMATS}")
    try:
        return sorted(reader(path, problems), key=lambda r: r.ts_ms)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError(f"{path.name}: not readable as CSV text ({exc}); expected {FORMATS}") from None
