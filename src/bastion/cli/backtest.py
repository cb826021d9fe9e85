"""``bastion backtest``: a bot over recorded candles, in process, on the engine core and the simulator's matching.

The typer declarations of ``backtest`` and ``backtest sweep``; the work is in
:mod:`bastion.cli.backtest_run` (which plain arguments reach without typer).
Imports stay light: no exchange client (ccxt), no database (SQLAlchemy), no web stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.cli.backtest_run import (
    CONFIG_HELP,
    DATA_HELP,
    date_range,
    parse_balance,
    parse_date,
    parse_fee_pct,
    read_config,
    run_backtest,
)
from bastion.errors import ConfigError

__all__ = ["backtest", "parse_balance", "parse_date", "parse_fee_pct", "sweep", "sweep_app"]

#: ``bastion backtest sweep`` (registered as the ``backtest`` group only when the command line asks for it, so
#: that a plain ``bastion backtest`` stays one plain command).
sweep_app = typer.Typer(help="Backtest sweeps: every combination of some config fields.", no_args_is_help=True)


def backtest(
    config: Annotated[Path, typer.Option("--config", help=CONFIG_HELP)],
    data: Annotated[list[str], typer.Option("--data", help=DATA_HELP)],
    fee: Annotated[str, typer.Option("--fee", help="Fee in percent, paid in the asset received.")] = "0.1",
    start: Annotated[str | None, typer.Option("--start", help="First candle (UTC date or epoch ms).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="End, exclusive (UTC date or epoch ms).")] = None,
    balance: Annotated[
        list[str] | None, typer.Option("--balance", help="ASSET=AMOUNT starting balance (repeatable).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    decide_at: Annotated[
        str,
        typer.Option(
            "--decide-at",
            help="fill: the bot reacts at each fill and watched level inside a candle (default); close: it decides "
            "only at candle closes, as the live engine against the simulator's replay (fills still follow the path).",
        ),
    ] = "fill",
) -> None:
    """Backtest a bot on recorded candles with the live engine core and the simulator's fills.

    `bastion backtest sweep --help`: many parameter sets, serial or on Ray.
    """
    run_backtest(config=config, data=data, fee=fee, start=start, end=end, balance=balance, json_out=json_out,
                 html_out=html_out, decide_at=decide_at)  # fmt: skip


def _sweep_table(rows: list[Any], names: list[str], quote: str, top: int, total: int, elapsed: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sweep: best {min(top, total)} of {total} runs ({elapsed:.1f} s)")
    columns = ["#", *names, "profit_pct", f"profit ({quote})", "closed", "open", "max_dd_pct", "capital", "fees"]
    for column in columns:
        table.add_column(column, justify="left" if column in names else "right")
    for row in rows[:top]:
        table.add_row(
            str(row["index"]),
            *(str(row[n]) for n in names),
            str(row["profit_pct"]),
            str(row["profit_quote"]),
            str(row["closed_deals"]),
            str(row["open_deals"]),
            str(row["max_drawdown_pct"]),
            str(row["max_capital_used"]),
            str(row["fees_quote"]),
        )
    Console().print(table)


@sweep_app.command()
def sweep(
    config: Annotated[Path, typer.Option("--config", help=CONFIG_HELP)],
    data: Annotated[list[str], typer.Option("--data", help=DATA_HELP)],
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            help="NAME=v1,v2,... (repeatable): a config field (table.key inside a table) and its values; "
            "every combination runs.",
        ),
    ],
    workers: Annotated[int, typer.Option("--workers", help="Parallel workers; more than 1 runs on Ray.")] = 1,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="A Ray cluster's address (default: a local Ray).")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="Best first by this figure.")] = "profit_pct",
    top: Annotated[int, typer.Option("--top", help="Rows to print.")] = 20,
    fee: Annotated[str, typer.Option("--fee", help="Fee in percent, paid in the asset received.")] = "0.1",
    start: Annotated[str | None, typer.Option("--start", help="First candle (UTC date or epoch ms).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="End, exclusive (UTC date or epoch ms).")] = None,
    balance: Annotated[
        list[str] | None, typer.Option("--balance", help="ASSET=AMOUNT starting balance (repeatable).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write every row (sorted) as JSON here.")] = None,
) -> None:
    """Backtest the cartesian product of some config fields' values; print the best rows."""
    import time

    from bastion.backtest.sweep import SORT_KEYS, SweepData, parse_param, run_sweep, sort_rows

    if sort not in SORT_KEYS:
        raise ConfigError(f"--sort must be one of {', '.join(SORT_KEYS)}; got {sort!r}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    text = read_config(config)
    start_ms, end_ms = date_range(start, end)
    spec = SweepData(
        data=tuple(data),
        start_ms=start_ms,
        end_ms=end_ms,
        fee=parse_fee_pct(fee),
        balances=tuple(sorted(dict(parse_balance(b) for b in balance or ()).items())),
    )
    params = [parse_param(p) for p in param]
    began = time.perf_counter()
    rows = run_sweep(spec, text, params, workers=workers, ray_address=ray_address)
    elapsed = time.perf_counter() - began
    ranked = sort_rows(rows, sort)
    quote = data[0].split("=", 1)[0].split("/")[-1].strip()
    _sweep_table(list(ranked), [p.name for p in params], quote, top, len(rows), elapsed)
    if json_out is not None:
        document = {"sort": sort, "workers": workers, "elapsed_s": round(elapsed, 3), "rows": list(ranked)}
        json_out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
