"""``bastion backtest``: a bot over recorded candles, in process, on the engine core and the simulator's matching.

Imports stay light: no exchange client (ccxt), no database (SQLAlchemy), no web stack.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from bastion.errors import ConfigError

__all__ = ["backtest", "parse_balance", "parse_date", "parse_fee_pct", "sweep", "sweep_app"]

#: ``bastion backtest sweep`` (registered as the ``backtest`` group only when the command line asks for it, so
#: that a plain ``bastion backtest`` stays one plain command).
sweep_app = typer.Typer(help="Backtest sweeps: every combination of some config fields.", no_args_is_help=True)


def parse_fee_pct(value: str) -> Decimal:
    """``--fee 0.1`` (percent) -> ``Decimal('0.001')``."""
    try:
        pct = Decimal(value)
    except InvalidOperation:
        pct = Decimal(-1)
    if not pct.is_finite() or not (0 <= pct < 100):
        raise ConfigError(f"--fee must be a percentage in [0, 100) such as 0.1 (for 0.1 %), got {value!r}")
    return pct / 100


def parse_date(value: str, option: str) -> int:
    """``2023-01-05``, ``2023-01-05T10:00`` (UTC unless an offset is given) or epoch ms -> epoch ms."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option} must be a date such as 2023-01-05 or 2023-01-05T10:00 (UTC) or epoch milliseconds, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_balance(value: str) -> tuple[str, Decimal]:
    """``USDT=1000`` -> ``("USDT", Decimal("1000"))``."""
    asset, sep, amount = value.partition("=")
    asset = asset.strip().upper()
    try:
        number = Decimal(amount.strip())
    except InvalidOperation:
        number = Decimal(-1)
    if not sep or not asset.isalnum() or not number.is_finite() or number < 0:
        raise ConfigError(f"--balance must look like ASSET=AMOUNT such as USDT=1000, got {value!r}")
    return asset, number


def _summary(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"backtest of {report['bot']}", show_header=False)
    for key in ("candles", "start", "end", "closed_deals", "open_deals", "profit_quote", "open_profit_quote",
                "profit_pct", "max_drawdown_pct", "max_capital_used", "fees_quote", "events", "elapsed_s"):  # fmt: skip
        value = report[key]
        if key in ("profit_quote", "open_profit_quote", "max_capital_used", "fees_quote"):
            value = f"{value} {report['quote']}"
        elif key.endswith("_pct"):
            value = f"{value} %"
        elif key == "elapsed_s":
            value = f"{value} s"
        table.add_row(key, str(value))
    for m in report["markets"]:
        table.add_row("market", f"{m['symbol']} tick {m['tick']} step {m['step']} min notional {m['min_notional']}")
    table.add_row("fee", f"{report['fee_pct']} % (paid in the asset received)")
    if report["bot_status"] != "running":
        table.add_row("bot", f"{report['bot_status']}: {report['bot_reason']}")
    console.print(table)


_CONFIG_HELP = "The bot's TOML file (as for `bastion bot create`)."
_DATA_HELP = (
    "PAIR=PATH[;tick=..;step=..;min_notional=..] (repeatable; as `exchange serve --market`); "
    "PATH: Bastion CSV, parquet, freqtrade feather or json."
)


def _read_config(config: Path) -> str:
    try:
        return config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read --config {str(config)!r}: {exc.strerror or exc}") from None


def _cut(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    start_ms = None if start is None else parse_date(start, "--start")
    end_ms = None if end is None else parse_date(end, "--end")
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise ConfigError(f"--end ({end}) must be after --start ({start})")
    return start_ms, end_ms


def backtest(
    config: Annotated[Path, typer.Option("--config", help=_CONFIG_HELP)],
    data: Annotated[list[str], typer.Option("--data", help=_DATA_HELP)],
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
    if decide_at not in ("fill", "close"):
        raise ConfigError(f"--decide-at must be fill or close, got {decide_at!r}")
    from bastion.backtest.data import load_market
    from bastion.backtest.report import report as make_report
    from bastion.backtest.runner import Backtest

    text = _read_config(config)
    rate = parse_fee_pct(fee)
    start_ms, end_ms = _cut(start, end)
    balances = dict(parse_balance(b) for b in balance or ())
    markets = [load_market(option, start_ms=start_ms, end_ms=end_ms) for option in data]
    run = Backtest(text, markets, fee=rate, balances=balances, react_in_candle=decide_at == "fill").run()
    bot = str(run.core.bots[1].name)
    report = make_report(run, bot=bot)
    _summary(report)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if html_out is not None:
        from bastion.backtest.html import html_report

        html_out.write_text(html_report(run, report), encoding="utf-8")


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
    config: Annotated[Path, typer.Option("--config", help=_CONFIG_HELP)],
    data: Annotated[list[str], typer.Option("--data", help=_DATA_HELP)],
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
    text = _read_config(config)
    start_ms, end_ms = _cut(start, end)
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
