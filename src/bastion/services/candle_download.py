"""Download candles through ccxt ``fetch_ohlcv`` into the candle store, resuming from what it holds.

``bastion data download`` builds a public ccxt client (no API key) with
:func:`bastion.exchanges.ccxt.factory.create_client` and calls :func:`download_candles`:

* only what the store lacks is fetched: before its first candle and after its last one (holes
  in between are reported, not fetched again: an exchange that had no trading then will not
  have candles later either);
* pages of ``page_limit`` candles are requested from a cursor that moves past the newest candle
  each page returned, so a hole on the exchange costs nothing extra;
* candles still open (by the exchange's clock) are not stored;
* what was fetched is merged into the store every ``flush_rows`` candles and when the download
  stops for any reason (an exchange error, Ctrl-C), so a rerun resumes where it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bastion.errors import BadSymbol, ExchangeError, ValidationError
from bastion.services.candle_files import CandleArrays, missing_ranges
from bastion.services.candle_store import CandleStore, MergeCounts, check_symbol, store_timeframe_ms

__all__ = ["DownloadReport", "DownloadRequest", "download_candles", "parse_utc"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]00:?00)?$")

#: Called with (candles covered so far, candles to cover) as the download moves on.
Progress = Callable[[int, int], None]


def parse_utc(text: str, option: str) -> int:
    """Return epoch milliseconds for ``2024-01-31``, ``2024-01-31T12:00[:00][Z]`` (UTC) or epoch ms digits.

    Raises
    ------
    ValidationError
        Anything else; the message names ``option`` and the accepted forms.
    """
    raw = text.strip()
    if raw.isdigit() and len(raw) >= 12:
        return int(raw)
    if _DATE.match(raw):
        cleaned = raw.replace(" ", "T").removesuffix("Z")
        try:
            moment = datetime.fromisoformat(cleaned)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return int(moment.timestamp() * 1000)
    raise ValidationError(
        f"{option} {text!r} is not a date; expected YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or epoch milliseconds"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadRequest:
    """One series to download: ``[since_ms, until_ms)``; ``until_ms`` None means up to now."""

    exchange: str
    symbol: str
    timeframe: str
    since_ms: int
    until_ms: int | None = None

    def __post_init__(self) -> None:
        check_symbol(self.symbol)
        store_timeframe_ms(self.timeframe)
        if self.until_ms is not None and self.until_ms <= self.since_ms:
            raise ValidationError("--until must be later than --since")

    @property
    def step_ms(self) -> int:
        """The candle length."""
        return store_timeframe_ms(self.timeframe)


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadReport:
    """What a download did and what the store now holds in the requested window."""

    step_ms: int
    fetched: int
    requests: int
    counts: MergeCounts
    ranges: tuple[tuple[int, int], ...]
    rows: int
    first_ms: int | None
    last_ms: int | None
    gaps: tuple[tuple[int, int], ...] = field(default=())

    @property
    def missing(self) -> int:
        """Candles missing in the window (the gaps' total)."""
        return sum((end - start) // self.step_ms + 1 for start, end in self.gaps)


class _Buffer:
    """Fetched rows waiting to be merged into the store."""

    def __init__(self, store: CandleStore, request: DownloadRequest) -> None:
        self.store = store
        self.request = request
        self.rows: list[list[Any]] = []
        self.new = self.updated = self.unchanged = 0

    def flush(self) -> None:
        import numpy as np

        if not self.rows:
            return
        matrix = np.array(self.rows, dtype=np.float64)
        self.rows = []
        ts = matrix[:, 0].astype(np.int64)
        # the last copy of an open time wins (pages may overlap)
        _, last_index = np.unique(ts[::-1], return_index=True)
        keep = np.sort(len(ts) - 1 - last_index)
        order = keep[np.argsort(ts[keep], kind="stable")]
        candles = CandleArrays(
            ts[order], *(np.ascontiguousarray(matrix[order, i]) for i in range(1, 6)), timeframe_ms=self.request.step_ms
        )
        r = self.request
        counts = self.store.merge(r.exchange, r.symbol, r.timeframe, candles)
        self.new += counts.new
        self.updated += counts.updated
        self.unchanged += counts.unchanged


def _plan(stored: Any, since: int, end: int, step: int) -> list[tuple[int, int]]:
    """Return the ``[start, end)`` ranges the store lacks: before its first and after its last candle."""
    if end <= since:
        return []
    if not len(stored):
        return [(since, end)]
    first, last = int(stored[0]), int(stored[-1])
    ranges = []
    if since < first:
        ranges.append((since, min(first, end)))
    if last + step < end:
        ranges.append((max(since, last + step), end))
    return ranges


def _explained(error: ExchangeError, request: DownloadRequest) -> ExchangeError:
    """Say which market or timeframe the exchange refused, in the user's words."""
    if isinstance(error, BadSymbol):
        return BadSymbol(
            f"{request.exchange} has no market {request.symbol} ({error}); expected a pair the exchange lists",
            exchange=error.exchange,
            code=error.code,
        )
    return error


def download_candles(
    client: Any,
    store: CandleStore,
    request: DownloadRequest,
    *,
    now_ms: int,
    progress: Progress | None = None,
    page_limit: int = 1000,
    flush_rows: int = 100_000,
) -> DownloadReport:
    """Fetch the candles the store lacks for ``request`` and merge them into it.

    Parameters
    ----------
    client
        A sync ccxt client (public data is enough).
    store
        Where the candles go.
    request
        The series and window.
    now_ms
        The exchange's clock: a candle opening at ``t`` is stored only when ``t + step <= now_ms``.
    progress
        Called with (covered, total) candle counts as pages arrive.
    page_limit
        Candles asked per ``fetch_ohlcv`` call.
    flush_rows
        Merge into the store after this many fetched candles (and always at the end).

    Raises
    ------
    bastion.errors.ExchangeError
        The exchange refused or could not be reached (translated from ccxt; what was fetched
        until then is stored).
    """
    import ccxt

    from bastion.exchanges.ccxt.errors import translate

    step = request.step_ms
    complete_end = now_ms - step + 1  # a candle opening before this has closed by now_ms
    end = complete_end if request.until_ms is None else min(request.until_ms, complete_end)
    stored = store.open_times(request.exchange, request.symbol, request.timeframe)
    ranges = _plan(stored, request.since_ms, end, step)
    total = sum((hi - lo + step - 1) // step for lo, hi in ranges)
    covered = 0
    fetched = requests = 0
    buffer = _Buffer(store, request)
    if progress is not None:
        progress(0, total)
    try:
        for lo, hi in ranges:
            cursor = lo
            while cursor < hi:
                try:
                    page = client.fetch_ohlcv(request.symbol, request.timeframe, since=cursor, limit=page_limit)
                except ccxt.BaseError as exc:
                    raise _explained(translate(exc, client), request) from None
                requests += 1
                newest = max((int(row[0]) for row in page), default=None)
                if newest is None or newest < cursor:
                    break  # nothing more on the exchange in this range
                wanted = [row for row in page if cursor <= int(row[0]) < hi and int(row[0]) + step <= now_ms]
                buffer.rows.extend(wanted)
                fetched += len(wanted)
                advanced = min(newest + step, hi)
                covered += (advanced - cursor + step - 1) // step
                cursor = newest + step
                if progress is not None:
                    progress(min(covered, total), total)
                if len(buffer.rows) >= flush_rows:
                    buffer.flush()
    finally:
        buffer.flush()
    if progress is not None:
        progress(total, total)
    import numpy as np

    held = store.open_times(request.exchange, request.symbol, request.timeframe)
    window = held[(held >= request.since_ms) & (held < end)]
    gaps = missing_ranges(window, step, start_ms=request.since_ms, end_ms=None if request.until_ms is None else end)
    return DownloadReport(
        step_ms=step,
        fetched=fetched,
        requests=requests,
        counts=MergeCounts(buffer.new, buffer.updated, buffer.unchanged),
        ranges=tuple(ranges),
        rows=int(np.size(window)),
        first_ms=int(window[0]) if len(window) else None,
        last_ms=int(window[-1]) if len(window) else None,
        gaps=tuple(gaps),
    )
