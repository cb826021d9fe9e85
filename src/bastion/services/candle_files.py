"""Candle files in, located rows out: freqtrade ``.feather``/``.json``/``.json.gz``, Bastion CSV, parquet.

Two ways in, one set of formats and messages:

* :func:`read_raw_candles` (exact, row by row, Decimal values) for ``bastion data import --to-db``
  and ``--out``;
* :func:`read_candle_arrays` (columnar, float64 numpy arrays, checks vectorised) for the candle
  store and backtests: a year of 1m candles loads in a fraction of a second. Anything the fast
  path cannot parse falls back to the row readers, so a bad row is reported the same way.

Each row reader yields :class:`RawCandle` rows that carry where they came from (``line 7`` in a
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
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastion.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "ARRAY_FORMATS",
    "CSV_HEADER",
    "FORMATS",
    "CandleArrays",
    "RawCandle",
    "RowProblems",
    "missing_ranges",
    "read_candle_arrays",
    "read_raw_candles",
    "utc_text",
    "write_candle_arrays",
]

CSV_HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
FORMATS = ".feather, .json, .json.gz or .csv"
ARRAY_FORMATS = ".csv, .parquet, .feather, .json or .json.gz"

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


_FREQTRADE = ("date", "open", "high", "low", "close", "volume")
_UNIT_SCALE = {"s": (1000, 1), "ms": (1, 1), "us": (1, 1_000), "ns": (1, 1_000_000)}


def _freqtrade_date(table: Any, path: Path) -> tuple[Any, str]:
    """Return a freqtrade table's ``date`` column and its unit; refuse missing columns or a non-timestamp date."""
    import pyarrow as pa

    missing = [c for c in _FREQTRADE if c not in table.column_names]
    if missing:
        raise ValidationError(
            f"{path.name}: columns {table.column_names} lack {missing}; expected freqtrade's {list(_FREQTRADE)}"
        )
    date = table.column("date")
    if not pa.types.is_timestamp(date.type):
        raise ValidationError(f"{path.name}: column 'date' is {date.type}; expected a timestamp (ns, UTC)")
    return date, str(date.type.unit)


def _read_feather(path: Path, problems: RowProblems) -> Iterator[RawCandle]:
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import feather

    try:
        table = feather.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"{path.name}: not readable as a feather file ({exc})") from None
    date, unit = _freqtrade_date(table, path)
    multiply, divide = _UNIT_SCALE[unit]
    stamps = pc.cast(date, pa.int64()).to_pylist()
    columns = [table.column(name).to_pylist() for name in _FREQTRADE[1:]]
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


# --- columns: float64 arrays for the candle store and backtests ----------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class CandleArrays:
    """Candles as columns, oldest first, open times unique.

    ``ts`` is the open time in epoch milliseconds (int64); ``open``, ``high``, ``low``, ``close``
    and ``volume`` are float64 (``volume`` is NaN where the source had none). Floats are for
    vectorised scans; money is built as ``Decimal(repr(x))`` where it is computed.
    ``timeframe_ms`` is the candle length when known (given, or the smallest step in the data).
    """

    ts: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    timeframe_ms: int | None = field(default=None, kw_only=True)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def empty(cls, timeframe_ms: int | None = None) -> CandleArrays:
        """Return a series without candles."""
        import numpy as np

        none = np.empty(0, np.float64)
        return cls(np.empty(0, np.int64), none, none, none, none, none, timeframe_ms=timeframe_ms)

    def columns(self) -> tuple[npt.NDArray[np.float64], ...]:
        """Return (open, high, low, close, volume)."""
        return (self.open, self.high, self.low, self.close, self.volume)

    def take(self, index: Any) -> CandleArrays:
        """Return the candles at ``index`` (a slice, a boolean mask or positions in ascending order)."""
        return CandleArrays(
            self.ts[index], *(column[index] for column in self.columns()), timeframe_ms=self.timeframe_ms
        )

    def decimals(self, index: int) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal | None]:
        """Return candle ``index`` as (open time, open, high, low, close, volume) Decimals.

        Each float becomes the decimal of its shortest text (``Decimal(repr(x))``, trailing zeros
        dropped), as for feather files: a price read from ``16727.3`` is ``Decimal('16727.3')``.
        The volume is None where it was missing.
        """
        o, h, low, c, v = (_float_decimal(column.item(index)) for column in self.columns())
        if o is None or h is None or low is None or c is None:
            raise ValidationError(f"candle {index} ({utc_text(int(self.ts[index]))}) has a missing price")
        return int(self.ts[index]), o, h, low, c, v

    def price_increment(self) -> Decimal:
        """Return the smallest decimal increment of the prices (``0.01`` for 2 decimals; 1 for whole numbers).

        The same value as the simulator's ``CandleSeries.price_increment`` for the same file,
        which sets a market's default tick.
        """
        import numpy as np

        prices = np.concatenate([self.open, self.high, self.low, self.close])
        # A sample needs no more places than all the prices: it skips the counts that cannot do.
        sample = prices[:: max(1, prices.shape[0] // 4096)]
        first = next((p for p in range(13) if np.array_equal(np.round(sample, p), sample)), 13)
        for places in range(first, 13):
            if np.array_equal(np.round(prices, places), prices):
                return Decimal(1).scaleb(-places)
        exponent = 0
        for value in np.unique(prices):
            decimal = _decimal(float(value))
            if decimal is not None:
                exponent = min(exponent, int(decimal.normalize().as_tuple().exponent))
        return Decimal(1).scaleb(exponent)

    def between(self, start_ms: int | None = None, end_ms: int | None = None) -> CandleArrays:
        """Return the candles opening at ``start_ms`` or later and before ``end_ms`` (None: no bound)."""
        import numpy as np

        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, side="left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, side="left"))
        return self.take(slice(lo, max(lo, hi)))


def _float_decimal(value: float) -> Decimal | None:
    """Return the Decimal of a float's shortest text without trailing zeros; None for NaN (fast path of _decimal)."""
    if value != value:  # NaN
        return None
    text = repr(value)
    if "e" in text or "n" in text:  # 1e-05, 1e+16, inf
        return _decimal(value)
    return Decimal(text[:-2] if text.endswith(".0") else text)


def missing_ranges(
    ts: npt.NDArray[np.int64], step_ms: int, *, start_ms: int | None = None, end_ms: int | None = None
) -> list[tuple[int, int]]:
    """Return each hole in ``ts`` as (first missing open time, last missing open time).

    Parameters
    ----------
    ts
        Open times, ascending and unique.
    step_ms
        The candle length.
    start_ms, end_ms
        With these, holes before the first and after the last candle inside ``[start_ms, end_ms)``
        count too (on the grid of ``ts``; on the grid of ``start_ms`` when ``ts`` is empty).
    """
    import numpy as np

    if len(ts) == 0:
        if start_ms is None or end_ms is None or end_ms <= start_ms:
            return []
        return [(start_ms, start_ms + (end_ms - start_ms - 1) // step_ms * step_ms)]
    first, last = int(ts[0]), int(ts[-1])
    holes: list[tuple[int, int]] = []
    if start_ms is not None:
        aligned = first - (first - start_ms) // step_ms * step_ms  # the grid point at or after start_ms
        if aligned < first:
            holes.append((aligned, first - step_ms))
    after = np.flatnonzero(np.diff(ts) > step_ms)
    holes.extend((int(ts[i]) + step_ms, int(ts[i + 1]) - step_ms) for i in after)
    if end_ms is not None:
        final = last + (end_ms - 1 - last) // step_ms * step_ms  # the last grid point before end_ms
        if final > last:
            holes.append((last + step_ms, final))
    return holes


_NULLS = ["", "nan", "NaN", "NAN"]
_Located = tuple["npt.NDArray[np.int64]", list["npt.NDArray[np.float64]"], Callable[[int], str]]


def _line(index: int) -> str:
    return f"line {index + 2}"  # the header is line 1


def _row_number(index: int) -> str:
    return f"row {index + 1}"


def _fast_csv(path: Path) -> _Located | None:
    """Read a Bastion CSV with pyarrow; None when anything is off (the row reader then says what)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = tuple(h.strip() for h in next(csv.reader([handle.readline()]), ()))
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    if header != CSV_HEADER:
        return None
    types = {name: pa.float64() for name in CSV_HEADER[1:]} | {CSV_HEADER[0]: pa.int64()}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=list(CSV_HEADER)),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=_NULLS, strings_can_be_null=False),
        )
    except (pa.ArrowException, OSError):
        return None
    stamps = table.column(CSV_HEADER[0])
    if stamps.null_count:
        return None
    values = [table.column(name).to_numpy() for name in CSV_HEADER[1:]]
    return stamps.to_numpy(), values, _line


def _fast_json(path: Path) -> _Located | None:
    import numpy as np

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        matrix = np.asarray(data, dtype=np.float64)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if matrix.ndim != 2 or matrix.shape[1] != len(CSV_HEADER):
        return None if len(matrix) else (np.empty(0, np.int64), [np.empty(0)] * 5, _row_number)
    stamps = matrix[:, 0]
    if not np.all(np.isfinite(stamps) & (stamps == np.floor(stamps))):
        return None
    return stamps.astype(np.int64), [np.ascontiguousarray(matrix[:, i]) for i in range(1, 6)], _row_number


def _table_columns(table: Any, path: Path) -> _Located:
    """Columns of a parquet/feather table: Bastion's (``timestamp_ms`` ...) or freqtrade's (``date`` ...)."""
    import numpy as np
    import pyarrow as pa

    def cast(column: Any, to: Any) -> Any:
        # pyarrow.compute costs tens of milliseconds to import: only when a column needs a cast.
        if column.type == to:
            return column
        import pyarrow.compute as pc

        return pc.cast(column, to)

    names = table.column_names
    if CSV_HEADER[0] in names:
        missing = [c for c in CSV_HEADER if c not in names]
        if missing:
            raise ValidationError(f"{path.name}: columns {names} lack {missing}; expected {list(CSV_HEADER)}")
        stamps = table.column(CSV_HEADER[0])
        if not pa.types.is_integer(stamps.type):
            raise ValidationError(f"{path.name}: column 'timestamp_ms' is {stamps.type}; expected integers (epoch ms)")
        raw = cast(stamps, pa.int64())
        multiply, divide, unit = 1, 1, "ms"
    else:
        date, unit = _freqtrade_date(table, path)
        raw = cast(date, pa.int64())
        multiply, divide = _UNIT_SCALE[unit]
    problems = RowProblems()
    ints = raw.to_numpy(zero_copy_only=False) if raw.null_count == 0 else None
    if ints is None:
        import pyarrow.compute as pc

        nulls = np.flatnonzero(pc.is_null(raw).to_numpy(zero_copy_only=False))
        for i in nulls:
            problems.add(_row_number(int(i)), "open time is missing")
        problems.raise_if_any(path)
        raise AssertionError("unreachable")  # pragma: no cover
    ints = ints.astype(np.int64, copy=False)
    if divide != 1:
        for i in np.flatnonzero(ints % divide):
            problems.add(_row_number(int(i)), f"date {ints[i]} ({unit}) is not a whole millisecond")
        problems.raise_if_any(path)
    stamps_ms = ints * multiply // divide if (multiply, divide) != (1, 1) else ints
    values = [
        np.asarray(cast(table.column(n), pa.float64()).to_numpy(zero_copy_only=False), np.float64)
        for n in CSV_HEADER[1:]
    ]
    return stamps_ms, values, _row_number


def _fast_table(path: Path) -> _Located:
    import pyarrow as pa

    kind = "parquet" if path.suffix.lower() == ".parquet" else "feather"
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.ParquetFile(path, memory_map=True).read()
        else:
            from pyarrow import feather

            table = feather.read_table(path, memory_map=True)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"{path.name}: not readable as a {kind} file ({exc})") from None
    return _table_columns(table, path)


def _from_rows(path: Path, reader: Callable[[Path, RowProblems], Iterator[RawCandle]]) -> _Located:
    """The row reader's answer as columns (used when the fast path could not parse the file)."""
    import numpy as np

    problems = RowProblems()
    try:
        rows = list(reader(path, problems))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError(f"{path.name}: not readable as CSV text ({exc}); expected {FORMATS}") from None
    problems.raise_if_any(path)
    stamps = np.fromiter((r.ts_ms for r in rows), np.int64, len(rows))
    values = [
        np.fromiter((math.nan if r.values[i] is None else float(r.values[i]) for r in rows), np.float64, len(rows))  # type: ignore[arg-type]
        for i in range(5)
    ]
    wheres = [r.where for r in rows]
    return stamps, values, wheres.__getitem__


def _text_of(value: float) -> str:
    return str(_canonical(Decimal(repr(float(value)))))


def _duration(ms: int) -> str:
    return f"{ms // 60_000} min" if ms % 60_000 == 0 else f"{ms} ms"


def _checked(path: Path, located: _Located, timeframe_ms: int | None, timeframe: str | None) -> CandleArrays:
    """Check columns in file order (same rules and wording as ``bastion data import``); sort them by time."""
    import numpy as np

    stamps, (o, h, low, c, v), where = located
    problems = RowProblems()

    def report(mask: npt.NDArray[np.bool_], message: Callable[[int], str]) -> None:
        for i in np.flatnonzero(mask):
            problems.add(where(int(i)), message(int(i)))

    seconds = stamps < _MIN_TS_MS
    report(
        seconds,
        lambda i: (
            f"timestamp {stamps[i]} looks like seconds ({utc_text(int(stamps[i]) * 1000)}); expected epoch milliseconds"
        ),
    )
    infinite = np.zeros(len(stamps), np.bool_)
    for column in (o, h, low, c, v):
        infinite |= np.isinf(column)

    def infinite_value(i: int) -> str:
        value = next(float(column[i]) for column in (o, h, low, c, v) if np.isinf(column[i]))
        return f"{'inf' if value > 0 else '-inf'!r} is not a finite number"

    report(infinite & ~seconds, infinite_value)
    prices = np.stack([o, h, low, c]) if len(stamps) else np.empty((4, 0))
    missing = np.isnan(prices).any(axis=0) & ~seconds & ~infinite
    report(missing, lambda i: "open, high, low and close are required")
    ok = ~(seconds | infinite | missing)
    with np.errstate(invalid="ignore"):
        top, bottom = np.maximum(o, c), np.minimum(o, c)
        positive = prices.min(axis=0, initial=np.inf) > 0
        report(
            ok & ~positive,
            lambda i: (
                f"prices must be positive, got open {_text_of(o[i])} high {_text_of(h[i])} "
                f"low {_text_of(low[i])} close {_text_of(c[i])}"
            ),
        )
        above = ok & positive & (h < top)
        report(above, lambda i: f"high {_text_of(h[i])} is below max(open, close) {_text_of(top[i])}")
        report(
            ok & positive & ~above & (low > bottom),
            lambda i: f"low {_text_of(low[i])} is above min(open, close) {_text_of(bottom[i])}",
        )
        report(ok & (v < 0), lambda i: f"volume {_text_of(v[i])} is negative")
    deltas = np.diff(stamps)
    order: npt.NDArray[np.intp] | None = None
    if np.any(deltas <= 0):
        order = np.argsort(stamps, kind="stable")
        deltas = np.diff(stamps[order])
    position = order if order is not None else np.arange(len(stamps))
    for k in np.flatnonzero(deltas == 0):
        row, previous = int(position[k + 1]), int(position[k])
        t = int(stamps[row])
        problems.add(where(row), f"candle time {utc_text(t)} ({t}) repeats {where(previous)}")
    step = timeframe_ms
    if step is None and np.any(deltas > 0):
        step = int(deltas[deltas > 0].min())
    if step is not None:
        label = timeframe or _duration(step)
        for k in np.flatnonzero((deltas > 0) & (deltas % step != 0)):
            row, previous = int(position[k + 1]), int(position[k])
            problems.add(
                where(row),
                f"{utc_text(int(stamps[row]))} is {_duration(int(deltas[k]))} after {where(previous)}, "
                f"not a multiple of the timeframe {label}",
            )
    problems.raise_if_any(path)
    if not len(stamps):
        raise ValidationError(f"{path.name}: no candles in the file; expected at least one row")
    arrays = CandleArrays(stamps, o, h, low, c, v, timeframe_ms=step)
    return arrays if order is None else arrays.take(order)


def read_candle_arrays(path: Path, *, timeframe_ms: int | None = None, timeframe: str | None = None) -> CandleArrays:
    """Read and check a candle file into float64 columns, oldest first.

    The checks are those of ``bastion data import`` (times unique and on the timeframe's grid,
    high >= max(open, close), low <= min(open, close), prices positive and finite, volume not
    negative), done on whole columns; a bad row is named by its CSV line or its row number.

    Parameters
    ----------
    path
        Bastion CSV (``timestamp_ms,open,high,low,close,volume``), parquet (the same columns, or
        freqtrade's ``date,open,...``), freqtrade ``.feather``, ``.json`` or ``.json.gz``.
    timeframe_ms, timeframe
        The candle length and its name for messages; inferred as the smallest step when None.

    Raises
    ------
    ValidationError
        Missing file, unknown type, unreadable file, or bad rows (the message names them).
    """
    if not path.is_file():
        raise ValidationError(f"{path} does not exist or is not a file; expected a {ARRAY_FORMATS} candle file")
    name = path.name.lower()
    suffix = path.suffix.lower()
    located: _Located | None
    if suffix == ".csv":
        located = _fast_csv(path) or _from_rows(path, _read_csv)
    elif suffix == ".json" or name.endswith(".json.gz"):
        located = _fast_json(path) or _from_rows(path, _read_json)
    elif suffix in (".parquet", ".feather"):
        located = _fast_table(path)
    else:
        raise ValidationError(f"{path.name}: unknown candle file type; expected {ARRAY_FORMATS}")
    return _checked(path, located, timeframe_ms, timeframe)


def write_candle_arrays(arrays: CandleArrays, out: Path, *, metadata: dict[str, str] | None = None) -> None:
    """Write candles as Bastion CSV or parquet (by ``out``'s suffix), atomically (temporary file, rename).

    Parquet holds ``timestamp_ms`` (int64) and float64 ``open``...``volume`` (a missing volume is
    null), uncompressed and without dictionaries: a year of 1m candles is about 24 MB and loads
    several times faster than with zstd or snappy (``bench/candle_load.py``). CSV values are the
    shortest text that reads back as the same float.
    """
    import numpy as np
    import pyarrow as pa

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValidationError(f"cannot write {out.name}: expected a .csv or .parquet file name")
    folder = out.parent
    if not folder.is_dir():
        raise ValidationError(f"cannot write {out}: folder {folder} does not exist")
    columns: dict[str, Any] = {CSV_HEADER[0]: pa.array(arrays.ts, pa.int64())}
    for label, column in zip(CSV_HEADER[1:], arrays.columns(), strict=True):
        nulls = np.isnan(column)
        columns[label] = pa.array(column, pa.float64(), mask=nulls if nulls.any() else None)
    table = pa.table(columns)
    if metadata:
        table = table.replace_schema_metadata(metadata)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    os.close(handle)
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, temporary, compression="none", use_dictionary=False)
        else:
            import pyarrow.csv as pacsv

            with open(temporary, "wb") as stream:
                stream.write((",".join(CSV_HEADER) + "\n").encode())
                pacsv.write_csv(table, stream, write_options=pacsv.WriteOptions(include_header=False))
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
