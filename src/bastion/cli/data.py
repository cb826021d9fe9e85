"""``bastion data``: the candle store (``$BASTION_HOME/data``): import, download, synth, list."""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bastion.errors import ConfigError, ValidationError

if TYPE_CHECKING:
    from bastion.services.candle_files import CandleArrays

app = typer.Typer(help="Candle data: import, download, synthesise and list the candle store.", no_args_is_help=True)

_SHOWN_GAPS = 10


@app.callback()
def _group() -> None:
    """Candle data: import, download, synthesise and list the candle store ($BASTION_HOME/data)."""


def _gaps_text(gaps: int, missing: int) -> str:
    if gaps == 0:
        return "no gaps"
    return f"{gaps} gap{'s' if gaps != 1 else ''} ({missing} missing candles)"


def _describe(candles: CandleArrays, symbol: str, timeframe: str) -> str:
    """One line like ``bastion data import``'s: market, count, first and last candle (UTC), gaps."""
    from bastion.services.candle_files import missing_ranges, utc_text

    step = candles.timeframe_ms or 1
    holes = missing_ranges(candles.ts, step)
    missing = sum((end - start) // step + 1 for start, end in holes)
    return (
        f"{symbol} {timeframe}: {len(candles)} candles, {utc_text(int(candles.ts[0]))} to "
        f"{utc_text(int(candles.ts[-1]))} UTC, {_gaps_text(len(holes), missing)}"
    )


def _series_name(path: Path, symbol: str | None, timeframe: str | None) -> tuple[str, str]:
    from bastion.services.market_data import infer_series

    if symbol is None or timeframe is None:
        inferred = infer_series(path)
        if inferred is None:
            raise ValidationError(
                f"cannot tell the market and timeframe from the file name {path.name!r}; expected a freqtrade "
                "name such as ETH_BTC-5m.feather, or give --symbol and --timeframe"
            )
        symbol = symbol or inferred[0]
        timeframe = timeframe or inferred[1]
    return symbol, timeframe


@app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="Candle file: freqtrade .feather/.json/.json.gz, Bastion CSV, or parquet.")
    ],
    symbol: Annotated[
        str | None, typer.Option(help="Market, e.g. BTC/USDT (default: from a name like ETH_BTC-5m.feather).")
    ] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle timeframe, e.g. 5m (default: from the name).")] = None,
    exchange: Annotated[str, typer.Option(help="Exchange id to file the candles under.")] = "simulator",
    to_db: Annotated[
        bool, typer.Option("--to-db", help="Write into the database's candles table instead of the store.")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write a normalised CSV file instead of the store.")] = None,
) -> None:
    """Check a candle file and merge it into the candle store (default), the database, or a CSV."""
    if to_db and out is not None:
        raise ConfigError(f"--to-db and --out {out} were both given; expected one of them")
    if to_db or out is not None:
        from bastion.services import market_data

        series = market_data.read_candle_file(path, symbol=symbol, timeframe=timeframe)
        line = market_data.summary(series)
        if out is not None:
            market_data.write_candles_csv(series, out)
            typer.echo(f"{line}; written to {out}")
            return
        upserted = market_data.import_candles(series, exchange=exchange)
        typer.echo(
            f"{line}; {exchange}: {upserted.new} new, {upserted.updated} updated, {upserted.unchanged} unchanged"
        )
        return
    from bastion.services.candle_files import ARRAY_FORMATS
    from bastion.services.candle_store import CandleStore, check_exchange, check_symbol

    if not path.is_file():
        raise ValidationError(f"{path} does not exist or is not a file; expected a {ARRAY_FORMATS} candle file")
    store = CandleStore.from_env()
    check_exchange(exchange)
    symbol, timeframe = _series_name(path, symbol, timeframe)
    check_symbol(symbol)
    candles, counts = store.import_file(exchange, symbol, timeframe, path)
    typer.echo(
        f"{_describe(candles, symbol, timeframe)}; {exchange}: {counts.new} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged"
    )


@app.command()
def download(
    exchange: Annotated[str, typer.Option(help="ccxt exchange id (binance, kucoin, ...) or 'simulator'.")],
    pair: Annotated[str, typer.Option(help="Market, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option(help="Candle timeframe, e.g. 1m, 5m, 1h.")],
    since: Annotated[str, typer.Option(help="First candle: YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or epoch ms.")],
    until: Annotated[str | None, typer.Option(help="End (exclusive), same forms; default: now.")] = None,
    url: Annotated[
        str | None, typer.Option(help="Simulator URL (bastion exchange serve), e.g. http://127.0.0.1:8765.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Candles asked per request.", min=1, max=5000)] = 1000,
) -> None:
    """Download candles through ccxt fetch_ohlcv (public data, no key) into the store; resume; report gaps."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bastion.exchanges.ccxt.factory import create_client
    from bastion.exchanges.venues import canonical_id
    from bastion.services.candle_download import DownloadRequest, download_candles, parse_utc
    from bastion.services.candle_files import utc_text
    from bastion.services.candle_store import CandleStore, check_exchange

    exchange = canonical_id(exchange)  # gateio -> gate: one store per exchange
    check_exchange(exchange)
    request = DownloadRequest(
        exchange=exchange,
        symbol=pair,
        timeframe=timeframe,
        since_ms=parse_utc(since, "--since"),
        until_ms=None if until is None else parse_utc(until, "--until"),
    )
    store = CandleStore.from_env()
    client = create_client(exchange, url=url)
    now_ms = _exchange_now(client)
    console = Console(stderr=True)
    with Progress(
        TextColumn(f"{pair} {timeframe}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("download", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = download_candles(client, store, request, now_ms=now_ms, progress=progress, page_limit=limit)
    counts = report.counts
    if report.ranges:
        typer.echo(
            f"{pair} {timeframe} from {exchange}: fetched {report.fetched} candles in {report.requests} "
            f"request{'s' if report.requests != 1 else ''}; "
            f"{counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged"
        )
    else:
        typer.echo(f"{pair} {timeframe} from {exchange}: the store already holds this window; nothing fetched")
    if report.first_ms is None or report.last_ms is None:
        typer.echo("stored: no candles in the window")
    else:
        typer.echo(
            f"stored: {report.rows} candles, {utc_text(report.first_ms)} to {utc_text(report.last_ms)} UTC, "
            f"{_gaps_text(len(report.gaps), report.missing)}"
        )
    for start, end in report.gaps[:_SHOWN_GAPS]:
        count = (end - start) // report.step_ms + 1
        typer.echo(f"  gap: {utc_text(start)} to {utc_text(end)} UTC ({count} candles)")
    if len(report.gaps) > _SHOWN_GAPS:
        typer.echo(f"  ... and {len(report.gaps) - _SHOWN_GAPS} more gaps (bastion data list --json lists them all)")


def _exchange_now(client: object) -> int:
    """Return the exchange's clock in epoch ms (its time endpoint), else this machine's."""
    import ccxt

    from bastion.exchanges.ccxt.errors import translate

    has = getattr(client, "has", {})
    if has.get("fetchTime"):
        try:
            return int(client.fetch_time())  # type: ignore[attr-defined]
        except ccxt.BaseError as exc:
            raise translate(exc, client) from None
    return int(time.time() * 1000)


def _decimal_option(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{option} {text!r} is not a number; expected a positive decimal such as 0.01") from None
    return value


@app.command()
def synth(
    days: Annotated[int, typer.Option(help="Days of candles.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same candles.")],
    out: Annotated[Path | None, typer.Option(help="Output file, .parquet or .csv.")] = None,
    pair: Annotated[str, typer.Option(help="Market name, e.g. BTC/USDT.")] = "BTC/USDT",
    timeframe: Annotated[str, typer.Option(help="Candle timeframe.")] = "1m",
    start: Annotated[str, typer.Option(help="First candle (UTC date or epoch ms).")] = "2024-01-01",
    price: Annotated[str, typer.Option(help="First open price.")] = "30000",
    tick: Annotated[str, typer.Option(help="Price tick every price is rounded to.")] = "0.01",
    volatility: Annotated[float, typer.Option(help="Annualised volatility (0.6 = 60 %).")] = 0.6,
    store: Annotated[bool, typer.Option("--store", help="Also merge the candles into the candle store.")] = False,
    exchange: Annotated[str, typer.Option(help="Exchange id to file them under with --store.")] = "synth",
) -> None:
    """Generate realistic synthetic candles (volatility clusters, fat tails), deterministic for a seed."""
    from bastion.services.candle_download import parse_utc
    from bastion.services.candle_files import write_candle_arrays
    from bastion.services.candle_store import CandleStore, check_exchange, check_symbol, store_timeframe_ms
    from bastion.services.candle_synth import SynthSpec, synth_candles

    if out is None and not store:
        raise ConfigError("give --out FILE (.parquet or .csv), --store, or both")
    check_symbol(pair)
    if store:
        check_exchange(exchange)
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise ValidationError(f"--out {out.name}: expected a .parquet or .csv file name")
    spec = SynthSpec(
        timeframe_ms=store_timeframe_ms(timeframe),
        days=days,
        seed=seed,
        start_ms=parse_utc(start, "--start"),
        price=_decimal_option(price, "--price"),
        tick=_decimal_option(tick, "--tick"),
        volatility=volatility,
    )
    began = time.perf_counter()
    candles = synth_candles(spec)
    line = f"{_describe(candles, pair, timeframe)}; synthetic, seed {seed}"
    if out is not None:
        write_candle_arrays(candles, out)
        line += f"; written to {out}"
    if store:
        counts = CandleStore.from_env().merge(exchange, pair, timeframe, candles)
        line += f"; {exchange}: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged"
    typer.echo(f"{line} ({time.perf_counter() - began:.2f} s)")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the stored datasets: rows, first and last candle, gaps."""
    from rich.console import Console
    from rich.table import Table

    from bastion.services.candle_files import utc_text
    from bastion.services.candle_store import CandleStore

    store = CandleStore.from_env()
    datasets = store.datasets()
    if as_json:
        typer.echo(json.dumps([d.as_json() for d in datasets], indent=2))
        return
    if not datasets:
        typer.echo(f"no candles stored in {store.root} (bastion data download / import / synth --store)")
        return
    table = Table(title=f"candle store {store.root}")
    for name in ("exchange", "pair", "timeframe", "rows", "first (UTC)", "last (UTC)", "gaps", "missing"):
        table.add_column(name, justify="right" if name in ("rows", "gaps", "missing") else "left")
    for d in datasets:
        table.add_row(
            d.exchange,
            d.symbol,
            d.timeframe,
            str(d.rows),
            "" if d.first_ms is None else utc_text(d.first_ms),
            "" if d.last_ms is None else utc_text(d.last_ms),
            str(len(d.gaps)),
            str(d.missing),
        )
    Console(width=120).print(table)
