"""``bastion data``: import recorded market data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.errors import ConfigError

app = typer.Typer(help="Import recorded market data (candles).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Import recorded market data (candles)."""


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Candle file: freqtrade .feather/.json/.json.gz, or Bastion CSV.")],
    symbol: Annotated[
        str | None, typer.Option(help="Market, e.g. BTC/USDT (default: from a name like ETH_BTC-5m.feather).")
    ] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle timeframe, e.g. 5m (default: from the name).")] = None,
    exchange: Annotated[str, typer.Option(help="Exchange id to file the candles under.")] = "simulator",
    to_db: Annotated[bool, typer.Option("--to-db", help="Write into the database (the default).")] = False,
    out: Annotated[Path | None, typer.Option(help="Write a normalised CSV file instead of the database.")] = None,
) -> None:
    """Check a candle file and write it into the database (idempotent) or a normalised CSV."""
    from bastion.services import market_data

    if to_db and out is not None:
        raise ConfigError(f"--to-db and --out {out} were both given; expected one of them")
    series = market_data.read_candle_file(path, symbol=symbol, timeframe=timeframe)
    line = market_data.summary(series)
    if out is not None:
        market_data.write_candles_csv(series, out)
        typer.echo(f"{line}; written to {out}")
        return
    counts = market_data.import_candles(series, exchange=exchange)
    typer.echo(f"{line}; {exchange}: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged")
