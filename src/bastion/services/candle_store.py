"""The candle store: one parquet file per (exchange, pair, timeframe) under ``$BASTION_HOME/data``.

::

    $BASTION_HOME/data/
        binance/BTC_USDT-1m.parquet        # timestamp_ms int64, open/high/low/close/volume float64
        simulator/ETH_BTC-5m.parquet

``bastion data download``, ``bastion data import`` and ``bastion data synth --store`` merge into
it (sorted by open time, one row per open time; a candle fetched again replaces the stored one),
and backtests load from it as float64 numpy arrays. Each write goes to a temporary file that is
renamed over the old one, so a reader never sees half a file and an interrupted write loses
nothing that was stored before. The module imports numpy and pyarrow only (no SQLAlchemy, no
ccxt), so a backtest that loads candles stays light.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bastion.errors import ValidationError
from bastion.services.candle_files import (
    CSV_HEADER,
    CandleArrays,
    missing_ranges,
    read_candle_arrays,
    utc_text,
    write_candle_arrays,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "CandleStore",
    "DatasetInfo",
    "MergeCounts",
    "check_exchange",
    "check_symbol",
    "load_candles",
    "store_timeframe_ms",
]

_HOME_ENV = "BASTION_HOME"
_EXCHANGE = re.compile(r"^[a-z0-9_]{1,32}$")
_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(?::[A-Z0-9]{1,20})?$")
_TIMEFRAME = re.compile(r"^([1-9][0-9]{0,3})([smhdw])$")
# The timeframe's unit lengths. TODO(integrator): bastion.domain.timeframe_ms (being added on another
# branch) is the one timeframe table; use it here once it is on main.
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_FILE = re.compile(r"^(?P<pair>[A-Z0-9]+_[A-Z0-9]+(?:_[A-Z0-9]+)?)-(?P<timeframe>[0-9]+[smhdw])\.parquet$")
_META_EXCHANGE = "bastion.exchange"
_META_SYMBOL = "bastion.symbol"
_META_TIMEFRAME = "bastion.timeframe"


def check_exchange(exchange: str) -> str:
    """Return ``exchange`` if it is a valid exchange id (lower-case letters, digits, ``_``)."""
    if not _EXCHANGE.match(exchange):
        raise ValidationError(f"exchange id {exchange!r} is not valid; expected lower-case such as 'binance'")
    return exchange


def check_symbol(symbol: str) -> str:
    """Return ``symbol`` if it is ``BASE/QUOTE`` (or ``BASE/QUOTE:SETTLE``) in capitals and digits."""
    if not _SYMBOL.match(symbol):
        raise ValidationError(f"pair {symbol!r} is not valid; expected BASE/QUOTE in capitals, such as BTC/USDT")
    return symbol


def store_timeframe_ms(timeframe: str) -> int:
    """Return the length of ``timeframe`` (``1m``, ``5m``, ``1h``, ``1d``, ``1w``) in milliseconds.

    Raises
    ------
    ValidationError
        Not a number followed by s, m, h, d or w (months have no fixed length and are not stored).
    """
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValidationError(
            f"timeframe {timeframe!r} is not valid; expected a number and a unit (s, m, h, d, w) such as 1m or 1h"
        )
    return int(match[1]) * _UNIT_MS[match[2]]


@dataclass(frozen=True, slots=True)
class MergeCounts:
    """What a merge did: candles new to the store, replaced with other values, and already stored."""

    new: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetInfo:
    """One stored series: its key, file, size, span and holes."""

    exchange: str
    symbol: str
    timeframe: str
    path: Path
    rows: int
    first_ms: int | None
    last_ms: int | None
    gaps: tuple[tuple[int, int], ...]

    @property
    def missing(self) -> int:
        """How many candles the holes miss."""
        step = store_timeframe_ms(self.timeframe)
        return sum((end - start) // step + 1 for start, end in self.gaps)

    def as_json(self) -> dict[str, object]:
        """Return the fields of ``bastion data list --json``."""
        return {
            "exchange": self.exchange,
            "pair": self.symbol,
            "timeframe": self.timeframe,
            "path": str(self.path),
            "rows": self.rows,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "first": None if self.first_ms is None else utc_text(self.first_ms),
            "last": None if self.last_ms is None else utc_text(self.last_ms),
            "gaps": len(self.gaps),
            "missing": self.missing,
            "gap_ranges": [[start, end] for start, end in self.gaps],
        }


def _same(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    import numpy as np

    same: npt.NDArray[np.bool_] = (a == b) | (np.isnan(a) & np.isnan(b))
    return same


def _private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents (``$BASTION_HOME`` itself, maybe) readable by this user only."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask


def _read_table(path: Path, columns: list[str] | None = None) -> Any:
    """Read a store file (all columns or ``columns``); a damaged file is a clear error, not a traceback."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # ParquetFile, not read_table: read_table imports pyarrow.dataset, which a backtest does not need
        table = pq.ParquetFile(path, memory_map=True).read(columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(
            f"{path}: not readable as a candle store file ({exc}); move it away, then download or import again"
        ) from None
    missing = [name for name in columns or CSV_HEADER if name not in table.column_names]
    if missing:
        raise ValidationError(f"{path}: a candle store file without the columns {missing}; expected {list(CSV_HEADER)}")
    return table


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``PATH.lock`` so two writers of one dataset merge one after the other."""
    import fcntl

    with path.with_name(path.name + ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_prices(candles: CandleArrays, symbol: str, timeframe: str) -> None:
    """Refuse candles a backtest could not use: prices missing or not positive, high/low not around the body."""
    import numpy as np

    o, h, low, c, v = candles.columns()
    with np.errstate(invalid="ignore"):
        bad = ~(
            (np.minimum(np.minimum(o, c), low) > 0)
            & np.isfinite(o + h + low + c)
            & (h >= np.maximum(o, c))
            & (low <= np.minimum(o, c))
            & ~(v < 0)
        )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        t = int(candles.ts[i])
        raise ValidationError(
            f"{symbol} {timeframe}: {int(bad.sum())} candle(s) not stored, nothing changed; the first at "
            f"{utc_text(t)} ({t}) has open {o[i]} high {h[i]} low {low[i]} close {c[i]} volume {v[i]}; expected "
            "positive prices with low <= open, close <= high and a volume not negative"
        )


class CandleStore:
    """Parquet candle datasets under one folder (``$BASTION_HOME/data`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CandleStore:
        """Return the store in ``$BASTION_HOME/data`` (``~/.bastion/data`` without ``BASTION_HOME``)."""
        env = os.environ if env is None else env
        raw = env.get(_HOME_ENV)
        home = Path(raw).expanduser() if raw else Path.home() / ".bastion"
        return cls(home / "data")

    # --- names ------------------------------------------------------------------------------

    def path(self, exchange: str, symbol: str, timeframe: str) -> Path:
        """Return the file of a dataset (which may not exist yet); refuse names that are not ids."""
        check_exchange(exchange)
        check_symbol(symbol)
        store_timeframe_ms(timeframe)
        return self.root / exchange / f"{symbol.replace('/', '_').replace(':', '_')}-{timeframe}.parquet"

    # --- reading ----------------------------------------------------------------------------

    def exists(self, exchange: str, symbol: str, timeframe: str) -> bool:
        """Return whether the dataset has a file."""
        return self.path(exchange, symbol, timeframe).is_file()

    def load(
        self, exchange: str, symbol: str, timeframe: str, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> CandleArrays:
        """Return the stored candles opening in ``[start_ms, end_ms)`` as float64 arrays, oldest first.

        Raises
        ------
        ValidationError
            The dataset does not exist (the message lists what the store holds).
        """
        path = self.path(exchange, symbol, timeframe)
        if not path.is_file():
            held = ", ".join(f"{d.exchange} {d.symbol} {d.timeframe}" for d in self.datasets()) or "nothing"
            raise ValidationError(
                f"no stored candles for {exchange} {symbol} {timeframe} (expected {path}); the store holds: {held}"
            )
        return self._read(path, store_timeframe_ms(timeframe)).between(start_ms, end_ms)

    def open_times(self, exchange: str, symbol: str, timeframe: str) -> npt.NDArray[np.int64]:
        """Return the stored open times only (an empty array when the dataset does not exist)."""
        import numpy as np

        path = self.path(exchange, symbol, timeframe)
        if not path.is_file():
            return np.empty(0, np.int64)
        stamps: npt.NDArray[np.int64] = _read_table(path, [CSV_HEADER[0]]).column(0).to_numpy()
        return stamps

    @staticmethod
    def _read(path: Path, step_ms: int) -> CandleArrays:
        table = _read_table(path)
        ts = table.column(CSV_HEADER[0]).to_numpy()
        values = [table.column(name).to_numpy(zero_copy_only=False) for name in CSV_HEADER[1:]]
        return CandleArrays(ts, *values, timeframe_ms=step_ms)

    def datasets(self) -> list[DatasetInfo]:
        """Return every stored dataset, sorted by exchange, pair and timeframe."""
        return sorted(self._scan(), key=lambda d: (d.exchange, d.symbol, store_timeframe_ms(d.timeframe)))

    def _scan(self) -> Iterator[DatasetInfo]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not _EXCHANGE.match(folder.name):
                continue
            for path in sorted(folder.glob("*.parquet")):
                match = _FILE.match(path.name)
                if match is None:
                    continue
                table = _read_table(path, [CSV_HEADER[0]])
                metadata = table.schema.metadata or {}
                symbol = metadata.get(_META_SYMBOL.encode(), b"").decode() or match["pair"].replace("_", "/", 1)
                timeframe = match["timeframe"]
                ts = table.column(0).to_numpy()
                yield DatasetInfo(
                    exchange=folder.name,
                    symbol=symbol,
                    timeframe=timeframe,
                    path=path,
                    rows=len(ts),
                    first_ms=int(ts[0]) if len(ts) else None,
                    last_ms=int(ts[-1]) if len(ts) else None,
                    gaps=tuple(missing_ranges(ts, store_timeframe_ms(timeframe))),
                )

    # --- writing ----------------------------------------------------------------------------

    def merge(self, exchange: str, symbol: str, timeframe: str, candles: CandleArrays) -> MergeCounts:
        """Merge candles into the dataset: new open times are added, stored ones replaced; one file write.

        Parameters
        ----------
        candles
            Sorted by open time, unique (as :func:`read_candle_arrays` and the downloader give them).

        Raises
        ------
        ValidationError
            A candle's open time is off the timeframe's grid of the stored data, times are not
            sorted and unique, or prices are missing, not positive or inconsistent (the store is
            then unchanged).
        """
        import numpy as np

        path = self.path(exchange, symbol, timeframe)
        if len(candles) and np.any(np.diff(candles.ts) <= 0):
            raise ValidationError(f"{symbol} {timeframe}: candles to store are not sorted by unique open time")
        if not len(candles):
            return MergeCounts(0, 0, 0)
        _check_prices(candles, symbol, timeframe)
        _private_dirs(path.parent)
        with _locked(path):
            return self._merge_locked(path, exchange, symbol, timeframe, candles)

    def _merge_locked(
        self, path: Path, exchange: str, symbol: str, timeframe: str, candles: CandleArrays
    ) -> MergeCounts:
        import numpy as np

        step = store_timeframe_ms(timeframe)
        stored = self._read(path, step) if path.is_file() else CandleArrays.empty(step)
        anchor = int(stored.ts[0]) if len(stored) else int(candles.ts[0])
        off_grid = np.flatnonzero((candles.ts - anchor) % step)
        if len(off_grid):
            t = int(candles.ts[off_grid[0]])
            raise ValidationError(
                f"{symbol} {timeframe}: candle at {utc_text(t)} ({t}) is off the {timeframe} grid of the stored "
                f"candles (which start at {utc_text(anchor)}); expected open times {step} ms apart"
            )
        at = np.searchsorted(stored.ts, candles.ts)
        inside = at < len(stored)
        both = np.zeros(len(candles), np.bool_)
        both[inside] = stored.ts[at[inside]] == candles.ts[inside]
        index = at[both]
        equal = np.ones(int(both.sum()), np.bool_)
        for new_col, old_col in zip(candles.columns(), stored.columns(), strict=True):
            equal &= _same(new_col[both], old_col[index])
        unchanged = int(equal.sum())
        counts = MergeCounts(new=int((~both).sum()), updated=len(index) - unchanged, unchanged=unchanged)
        if counts.new == 0 and counts.updated == 0:
            return counts
        keep = np.ones(len(stored), np.bool_)
        keep[index] = False
        ts = np.concatenate([stored.ts[keep], candles.ts])
        order = np.argsort(ts, kind="stable")
        merged = CandleArrays(
            ts[order],
            *(
                np.concatenate([old[keep], new])[order]
                for old, new in zip(stored.columns(), candles.columns(), strict=True)
            ),
            timeframe_ms=step,
        )
        write_candle_arrays(
            merged,
            path,
            metadata={_META_EXCHANGE: exchange, _META_SYMBOL: symbol, _META_TIMEFRAME: timeframe},
        )
        return counts

    def import_file(self, exchange: str, symbol: str, timeframe: str, source: Path) -> tuple[CandleArrays, MergeCounts]:
        """Read and check a candle file (any format :func:`read_candle_arrays` takes) and merge it."""
        candles = read_candle_arrays(source, timeframe_ms=store_timeframe_ms(timeframe), timeframe=timeframe)
        return candles, self.merge(exchange, symbol, timeframe, candles)


def load_candles(path: Path, *, timeframe: str | None = None) -> CandleArrays:
    """Load a candle file for a backtest: CSV, parquet (a store file or any with the same columns), feather, JSON.

    Parameters
    ----------
    path
        The file.
    timeframe
        Its timeframe (``5m``); inferred as the smallest step between candles when None.
    """
    if timeframe is None:
        return read_candle_arrays(path)
    return read_candle_arrays(path, timeframe_ms=store_timeframe_ms(timeframe), timeframe=timeframe)
