"""Market data use cases: check recorded candles and store them in the database or a CSV.

``bastion data import`` is :func:`read_candle_file`, then :func:`import_candles` or
:func:`write_candles_csv`, then :func:`summary`. Reading the formats is
:mod:`bastion.services.candle_files`.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from bastion.domain import Candle
from bastion.domain import timeframe_ms as domain_timeframe_ms
from bastion.domain.candle import MONTH
from bastion.errors import ValidationError
from bastion.services.candle_files import CSV_HEADER, RawCandle, RowProblems, read_raw_candles, utc_text
from bastion.storage.db import create_engine_for, database_url, session_factory, upgrade
from bastion.storage.records import UpsertCounts
from bastion.storage.repositories import CandleRepository

__all__ = [
    "CandleSeries",
    "import_candles",
    "infer_series",
    "read_candle_file",
    "summary",
    "timeframe_ms",
    "write_candles_csv",
]

_SYMBOL = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+(?::[A-Z0-9]+)?$")
_EXCHANGE = re.compile(r"^[a-z0-9_]{1,32}$")
_FILE_NAME = re.compile(
    r"^(?P<pair>[A-Za-z0-9]+(?:_[A-Za-z0-9]+){1,2})-(?P<timeframe>[0-9]+[smhdwM])(?:-(?:spot|futures))?"
    r"\.(?:feather|json|json\.gz|csv)$"
)


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """Checked candles of one market and timeframe, oldest first, without duplicates."""

    symbol: str
    timeframe: str
    candles: tuple[Candle, ...]
    gaps: int
    missing: int

    @property
    def first(self) -> Candle:
        """The oldest candle."""
        return self.candles[0]

    @property
    def last(self) -> Candle:
        """The newest candle."""
        return self.candles[-1]


# --- names ----------------------------------------------------------------------------------


def timeframe_ms(timeframe: str) -> int | None:
    """Return the length of ``timeframe`` (``1m``, ``5m``, ``1h``, ``1d``, ``1w``) in ms; None for ``1M``.

    Raises
    ------
    ValidationError
        The timeframe is not one of :data:`bastion.domain.TIMEFRAMES_MS` nor ``1M``.
    """
    return None if timeframe == MONTH else domain_timeframe_ms(timeframe)


def infer_series(path: Path) -> tuple[str, str] | None:
    """Return (symbol, timeframe) from a freqtrade file name such as ``ETH_BTC-5m.feather``, or None.

    ``XRP_USDT_USDT-1h-futures.feather`` gives ``("XRP/USDT:USDT", "1h")``.
    """
    match = _FILE_NAME.match(path.name)
    if match is None:
        return None
    parts = match["pair"].upper().split("_")
    symbol = f"{parts[0]}/{parts[1]}" + (f":{parts[2]}" if len(parts) == 3 else "")
    return symbol, match["timeframe"]


def _series_name(path: Path, symbol: str | None, timeframe: str | None) -> tuple[str, str]:
    if symbol is None or timeframe is None:
        inferred = infer_series(path)
        if inferred is None:
            raise ValidationError(
                f"cannot tell the market and timeframe from the file name {path.name!r}; expected a freqtrade "
                "name such as ETH_BTC-5m.feather, or give --symbol and --timeframe"
            )
        symbol = symbol or inferred[0]
        timeframe = timeframe or inferred[1]
    if not _SYMBOL.match(symbol):
        raise ValidationError(f"symbol {symbol!r} is not valid; expected BASE/QUOTE in capitals, such as BTC/USDT")
    timeframe_ms(timeframe)
    return symbol, timeframe


# --- checks ---------------------------------------------------------------------------------


def _duration(ms: int) -> str:
    return f"{ms // 60_000} min" if ms % 60_000 == 0 else f"{ms} ms"


def _check(rows: list[RawCandle], timeframe: str, problems: RowProblems) -> tuple[int, int]:
    """Check candles sorted by time; return (gaps, missing candles)."""
    for row in rows:
        o, h, low, c, v = row.values
        if o is None or h is None or low is None or c is None:
            problems.add(row.where, "open, high, low and close are required")
            continue
        if min(o, h, low, c) <= 0:
            problems.add(row.where, f"prices must be positive, got open {o} high {h} low {low} close {c}")
        elif h < max(o, c):
            problems.add(row.where, f"high {h} is below max(open, close) {max(o, c)}")
        elif low > min(o, c):
            problems.add(row.where, f"low {low} is above min(open, close) {min(o, c)}")
        if v is not None and v < 0:
            problems.add(row.where, f"volume {v} is negative")
    step = timeframe_ms(timeframe)
    gaps = missing = 0
    for previous, row in pairwise(rows):
        delta = row.ts_ms - previous.ts_ms
        if delta == 0:
            problems.add(row.where, f"candle time {utc_text(row.ts_ms)} ({row.ts_ms}) repeats {previous.where}")
        elif step is not None and delta % step:
            problems.add(
                row.where,
                f"{utc_text(row.ts_ms)} is {_duration(delta)} after {previous.where}, "
                f"not a multiple of the timeframe {timeframe}",
            )
        elif step is not None and delta > step:
            gaps += 1
            missing += delta // step - 1
    return gaps, missing


def read_candle_file(path: Path, *, symbol: str | None = None, timeframe: str | None = None) -> CandleSeries:
    """Read and check a candle file; return its candles sorted by time.

    Checks: times unique and on the timeframe's grid, high >= max(open, close),
    low <= min(open, close), prices positive, volume not negative (a missing volume is allowed).

    Parameters
    ----------
    path
        A freqtrade ``.feather``, ``.json`` or ``.json.gz`` file, or a Bastion CSV.
    symbol, timeframe
        The market (``BTC/USDT``) and timeframe (``5m``); taken from a freqtrade file name
        (``ETH_BTC-5m.feather``) when not given.

    Raises
    ------
    ValidationError
        The file cannot be read, or rows are bad: the message names each bad row by its line
        (CSV) or row number (JSON, feather).
    """
    problems = RowProblems()
    rows = read_raw_candles(path, problems)
    symbol, timeframe = _series_name(path, symbol, timeframe)
    gaps, missing = _check(rows, timeframe, problems)
    problems.raise_if_any(path)
    if not rows:
        raise ValidationError(f"{path.name}: no candles in the file; expected at least one row")
    candles = tuple(Candle(r.ts_ms, *r.values) for r in rows)  # type: ignore[arg-type]  # checked above
    return CandleSeries(symbol=symbol, timeframe=timeframe, candles=candles, gaps=gaps, missing=missing)


# --- outputs --------------------------------------------------------------------------------


def _text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def write_candles_csv(series: CandleSeries, out: Path) -> None:
    """Write the candles as Bastion CSV (``timestamp_ms,open,high,low,close,volume``), atomically.

    Values are written in fixed-point notation; a missing volume is an empty field.
    """
    folder = out.parent
    if not folder.is_dir():
        raise ValidationError(f"cannot write {out}: folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            for c in series.candles:
                writer.writerow((c.ts_ms, *(_text(v) for v in (c.open, c.high, c.low, c.close, c.volume))))
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def import_candles(series: CandleSeries, *, exchange: str = "simulator", database: str | None = None) -> UpsertCounts:
    """Upsert the candles into the database's candles table, in one transaction.

    Parameters
    ----------
    series
        Checked candles from :func:`read_candle_file`.
    exchange
        Exchange id the candles are filed under (``simulator`` replays them).
    database
        Database URL; :func:`bastion.storage.db.database_url` when None. The schema is
        migrated to the current version first.
    """
    if not _EXCHANGE.match(exchange):
        raise ValidationError(f"exchange id {exchange!r} is not valid; expected lower-case such as 'binance'")
    engine = create_engine_for(database or database_url())
    try:
        upgrade(engine)
        with session_factory(engine).begin() as session:
            return CandleRepository(session).upsert_many(exchange, series.symbol, series.timeframe, series.candles)
    finally:
        engine.dispose()


def summary(series: CandleSeries) -> str:
    """Return one line: market, candle count, first and last candle (UTC), gaps."""
    gaps = (
        "no gaps"
        if series.gaps == 0
        else f"{series.gaps} gap{'s' if series.gaps != 1 else ''} ({series.missing} missing candles)"
    )
    return (
        f"{series.symbol} {series.timeframe}: {len(series.candles)} candles, "
        f"{utc_text(series.first.ts_ms)} to {utc_text(series.last.ts_ms)} UTC, {gaps}"
    )
